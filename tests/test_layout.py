"""The layout keeps its one-way imports: front ends -> core, crawl -> core, never back."""

import json
import pkgutil
import subprocess
import sys

import lpse_crawler
from tests.conftest import ROOT

CORE_PACKAGES = [
    "lpse_crawler.spse",
    "lpse_crawler.store",
    "lpse_crawler.people",
    "lpse_crawler.matching",
    "lpse_crawler.scheduling",
    "lpse_crawler.following",
]
CORE_MODULES = ["lpse_crawler.config", "lpse_crawler.outbox", "lpse_crawler.rupiah", "lpse_crawler.usage"]
CRAWL_ONLY = ("scrapy", "twisted", "scrapy_playwright", "playwright")


def modules_loaded_by(*imports: str) -> set[str]:
    """Top-level package names in sys.modules after importing `imports` in a fresh interpreter."""
    code = f"import importlib, json, sys\nfor m in {list(imports)!r}: importlib.import_module(m)\n"
    code += "print(json.dumps(sorted({n.split('.')[0] for n in sys.modules} | set(sys.modules))))"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True)
    return set(json.loads(done.stdout))


def core_modules() -> list[str]:
    names = list(CORE_MODULES)
    for package in CORE_PACKAGES:
        module = __import__(package, fromlist=["_"])
        names += [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(module.__path__)]
    return names


def test_the_core_imports_neither_scrapy_nor_the_front_ends():
    loaded = modules_loaded_by(*core_modules())
    assert not loaded & {*CRAWL_ONLY, "telebot", "bot", "cli", "lpse_crawler.cli", "lpse_crawler.pipelines"}


def test_the_bot_and_the_cli_import_no_scrapy_twisted_or_parsel():
    loaded = modules_loaded_by("bot.app", "bot.sender", "bot.__main__", "cli")
    assert not loaded & {*CRAWL_ONLY, "parsel", "lxml"}


def test_the_cli_does_not_import_the_bot():
    assert not modules_loaded_by("cli") & {"bot", "telebot"}


def test_every_core_package_says_what_it_holds():
    for name in [*CORE_PACKAGES, "lpse_crawler.cli", *core_modules()]:
        module = __import__(name, fromlist=["_"])
        assert module.__doc__ and len(module.__doc__.strip().splitlines()[0]) > 20, name
    assert lpse_crawler.__doc__
