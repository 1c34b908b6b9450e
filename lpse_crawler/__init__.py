"""Pantau LPSE: the Scrapy crawl (settings, items, pipelines, middlewares, health, spiders)
at this level, over a core the bot and the CLI share: spse/ (the site), store/ (the
database), people/ (subscribers and their data), matching/ (filters), outbox.py, usage.py,
config.py; and cli/, the operators' front end."""
