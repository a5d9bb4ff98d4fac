"""Exceptions that services raise and that views and the API turn into clear answers."""


class StaleVersion(Exception):
    """The object changed since the caller read it (a stale ``If-Match`` or form version)."""

    def __init__(self, current_version: int) -> None:
        super().__init__(f"the object has changed (now version {current_version})")
        self.current_version = current_version
