"""Following a package through its life: what changed between two crawls, told once per change.
Pure code: no Scrapy, no parsel, no database, no Telegram, so the bot may import it too."""
