"""The instance registry: 600 unique slugs, each with a zone and its own spider."""

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from scrapy.spiderloader import SpiderLoader
from scrapy.utils.project import get_project_settings

from lpse_crawler.spse.registry import REGISTRY_PATH, load_registry, sync_registry
from lpse_crawler.store.models import Instance


def test_registry_has_600_unique_instances_with_valid_zones():
    records = load_registry()
    assert len(records) == 600
    assert len({r.code for r in records}) == 600
    assert all(ZoneInfo(r.timezone) for r in records)
    assert {r.timezone for r in records} == {
        "Asia/Jakarta",
        "Asia/Pontianak",
        "Asia/Makassar",
        "Asia/Jayapura",
    }


def test_known_instances():
    by_code = {r.code: r for r in load_registry()}
    assert by_code["kemkes"].agencies == ("Kementerian Kesehatan",)
    assert by_code["makassar"].timezone == "Asia/Makassar"
    assert by_code["jayapurakota"].timezone == "Asia/Jayapura"
    assert len(by_code["nasional"].agencies) == 37


def test_every_instance_has_a_spider_and_one_spider_crawls_them_all():
    names = set(SpiderLoader.from_settings(get_project_settings()).list())
    assert {f"lpse_{r.code}" for r in load_registry()} <= names
    assert "lpse" in names


def test_sync_adds_instances_and_keeps_operator_choices(database):
    records = load_registry()
    assert sync_registry(records) == 600
    Instance.update(active=False).where(Instance.code == "kemkes").execute()
    assert sync_registry(records) == 0
    assert Instance.get_by_id("kemkes").active is False
    assert Instance.select().count() == 600


def test_committed_registry_is_what_the_builder_makes():
    import csv
    import io

    from tools.build_registry import build

    lists = Path(__file__).resolve().parents[2] / "shared" / "fixtures" / "lists"
    if not lists.exists():
        pytest.skip("../shared/fixtures/lists is not beside this checkout")
    built = io.StringIO()
    writer = csv.DictWriter(built, fieldnames=["code", "name", "agencies", "province", "timezone"])
    writer.writeheader()
    writer.writerows(build(lists))
    assert built.getvalue().replace("\r\n", "\n") == REGISTRY_PATH.read_text(encoding="utf-8")
