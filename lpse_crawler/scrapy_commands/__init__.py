"""Scrapy commands of this project (COMMANDS_MODULE): `crawl` with meaningful exit statuses."""
