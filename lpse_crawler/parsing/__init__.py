"""Pure functions that turn SPSE's strings, JSON and HTML into Python values."""

from lpse_crawler.parsing.errors import MalformedPage, SpseErrorPage, StaleToken

__all__ = ["MalformedPage", "SpseErrorPage", "StaleToken"]
