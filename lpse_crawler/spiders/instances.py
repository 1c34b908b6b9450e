"""One named spider per registry instance (`scrapy crawl lpse_kemkes`), plus `lpse` for all.

Cron runs `scrapy crawl lpse` (every active instance, one process) or
`scrapy crawl lpse -a instances=kemkes,jakarta`.
"""

import re

from lpse_crawler.spiders.spse import SpseSpider
from lpse_crawler.spse.registry import load_registry


class AllInstancesSpider(SpseSpider):
    """Every active instance in one process (or the `-a instances=` subset)."""

    name = "lpse"


def spider_class_name(code: str) -> str:
    return "Lpse" + "".join(part.capitalize() for part in re.split(r"[^a-z0-9]+", code))


for _record in load_registry():
    _name = spider_class_name(_record.code)
    globals()[_name] = type(
        _name,
        (SpseSpider,),
        {"name": f"lpse_{_record.code}", "instance_codes": (_record.code,), "__module__": __name__},
    )
