"""The SPSE site: parsers of its strings, JSON and HTML, normalising, the instance registry,
and the paging rules of its listings. Pure code: no Scrapy, no database writes."""

from lpse_crawler.spse.errors import MalformedPage, SpseErrorPage, StaleToken

__all__ = ["MalformedPage", "SpseErrorPage", "StaleToken"]
