"""Exceptions raised when a page is not what SPSE normally serves."""


class MalformedPage(ValueError):
    """The page or JSON does not have the shape the parser expects."""


class SpseErrorPage(MalformedPage):
    """SPSE answered with one of its own error pages (often with HTTP 200)."""


class StaleToken(MalformedPage):
    """The DataTables endpoint refused the token: HTML came back instead of JSON."""
