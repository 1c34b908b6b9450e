"""The crawl's timing: which listing to check when, within one request budget."""
