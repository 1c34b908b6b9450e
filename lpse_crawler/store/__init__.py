"""The database: connection, tables, schema and migrations, the tender upsert, crawl state."""
