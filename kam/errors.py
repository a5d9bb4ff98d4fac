"""Exceptions that services raise and that views and the API turn into clear answers."""


class StaleVersion(Exception):
    """The object changed since the caller read it (a stale ``If-Match`` or form version)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"the object has changed (now version {current_version})")
        self.current_version = current_version


class Conflict(Exception):
    """The request conflicts with existing data (a second renewal of a contract, …): HTTP 409.

    ``field`` names the field the conflict is about, when there is one.
    """

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
