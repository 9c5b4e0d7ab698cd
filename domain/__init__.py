"""posventa's domain: tables, validated input, services and migrations."""
