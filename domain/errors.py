"""Domain errors for bad input or impossible requests: clear message, nothing written."""


class DomainError(ValueError):
    """The request cannot be carried out; the message says why in words a user understands."""


class NotFound(DomainError):
    """A referenced record does not exist."""


class Conflict(DomainError):
    """The request clashes with the current state (duplicate, wrong stage, ...)."""
