"""Subscribers' filters: the filter language, the compiled index, saving filters, matching packages."""
