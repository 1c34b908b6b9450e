"""A failed request in one line, for the log and an instance's health."""

from scrapy.spidermiddlewares.httperror import HttpError


def describe_failure(failure) -> str:
    if failure.check(HttpError):
        return f"HTTP {failure.value.response.status}"
    return f"{failure.type.__name__}: {failure.getErrorMessage()}"[:300]
