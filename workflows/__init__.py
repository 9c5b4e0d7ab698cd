"""Durable after-sales workflows (Temporal). Importing this package has no side effects."""
