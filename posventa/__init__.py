"""posventa: after-sales field-service and training scheduler."""

__version__ = "0.1.0"
