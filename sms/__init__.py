"""Two-way SMS with customers: gateways, templates, reply parsing, inbound pipeline."""
