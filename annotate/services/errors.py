from __future__ import annotations


class ServiceError(ValueError):
    """A request that cannot be carried out as asked; ``field`` names the input to fix."""

    def __init__(self, message: str, *, field: str | None = None, code: str = "invalid"):
        super().__init__(message)
        self.message, self.field, self.code = message, field, code


class NotAssigned(ServiceError):
    """The annotator does not hold this example (never handed to them, skipped, released or reopened)."""

    def __init__(self, message: str = "this example is not assigned to you; get one with next"):
        super().__init__(message, field="example", code="not_assigned")


class FieldErrors(ServiceError):
    """Several inputs to fix at once: ``errors`` maps each field to what is wrong with it (the first of them is
    the ``message`` and ``field``, as for any ServiceError), so that a form can show each beside its field."""

    def __init__(self, errors: dict[str, str], *, code: str = "invalid"):
        field, message = next(iter(errors.items()))
        super().__init__(message, field=field, code=code)
        self.errors = errors
