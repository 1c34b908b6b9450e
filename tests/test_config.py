"""One configuration module: every variable with its default, documented in .env.example."""

import re
import subprocess
import sys
from pathlib import Path

import pytest
from dotenv import dotenv_values

from lpse_crawler import config
from tests.conftest import ROOT


def env_example() -> dict[str, str]:
    return {name: value or "" for name, value in dotenv_values(ROOT / ".env.example").items()}


def test_env_example_means_the_same_to_a_shell_as_to_the_services(tmp_path):
    """cron and scripts may `set -a; . file`; systemd's EnvironmentFile reads quotes alike."""
    script = f"set -a; . {ROOT / '.env.example'}; env -0"
    shell = subprocess.run(["bash", "-c", script], env={}, capture_output=True, text=True, check=True)
    assert shell.stderr == ""
    seen = dict(entry.split("=", 1) for entry in shell.stdout.split("\0") if "=" in entry)
    assert {name: seen[name] for name in config.VARIABLES} == env_example()


def test_env_example_lists_every_variable_with_its_default():
    assert env_example() == {name: v.default for name, v in config.VARIABLES.items()}


def test_only_the_config_module_reads_the_environment():
    readers = [
        str(path.relative_to(ROOT))
        for folder in ("lpse_crawler", "bot")
        for path in Path(ROOT, folder).rglob("*.py")
        if re.search(r"os\.environ|getenv\(", path.read_text(encoding="utf-8"))
    ]
    assert readers == ["lpse_crawler/config.py"]


def test_values_are_typed_and_empty_means_the_default():
    env = {
        "LPSE_PAGE_SIZE": "25",
        "LPSE_AUTOTHROTTLE": "off",
        "SENDER_RATE": " ",
        "LPSE_DOWNLOAD_DELAY": "0.5",
    }
    assert config.get("LPSE_PAGE_SIZE", env) == 25
    assert config.get("LPSE_AUTOTHROTTLE", env) is False
    assert config.get("SENDER_RATE", env) == 30.0
    assert config.get("LPSE_DOWNLOAD_DELAY", env) == 0.5


BAD_VALUES = [
    ("LPSE_PAGE_SIZE", "abc"),
    ("LPSE_BROWSER", "maybe"),
    ("SENDER_RATE", "cepat"),
    ("LPSE_YEARS", "2026,2O27"),
    ("LPSE_YEARS", "2026,"),
    ("LPSE_YEARS", "26"),
]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_value_that_does_not_parse_names_the_variable(name, value):
    with pytest.raises(config.ConfigError, match=f"^{name}="):
        config.get(name, {name: value})


def test_the_crawl_uses_the_bundled_public_suffix_list_offline(tmp_path):
    """Scrapy's cookie middleware asks tldextract, which would download the list (and print
    tracebacks offline) on a machine whose cache is empty."""
    script = (
        "import lpse_crawler.settings\n"
        "from scrapy.downloadermiddlewares.cookies import _is_public_domain\n"
        "print(_is_public_domain('go.id'), _is_public_domain('spse.inaproc.id'))\n"
    )
    environment = {"PATH": "/usr/bin:/bin", "XDG_CACHE_HOME": str(tmp_path), "HOME": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=environment, capture_output=True, text=True, timeout=60
    )
    assert (done.stdout, done.stderr) == ("True False\n", "")


def test_fiscal_years_are_checked_and_given_to_the_crawl_as_a_plain_list():
    assert config.get("LPSE_YEARS", {"LPSE_YEARS": " 2026, 2027 "}) == "2026,2027"
    assert config.get("LPSE_YEARS", {}) == ""  # the crawl's default: this year and next


def test_a_mistyped_fiscal_year_stops_the_crawl_with_one_line(tmp_path):
    (tmp_path / "empty.env").touch(mode=0o600)
    environment = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PANTAU_ENV_FILE": str(tmp_path / "empty.env"),
    }
    environment |= {"DATABASE_URL": f"sqlite:///{tmp_path}/pantau.db", "LPSE_YEARS": "2026,2O27"}
    done = subprocess.run(
        [sys.executable, "-m", "scrapy", "crawl", "lpse"],
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 1
    assert done.stderr == (
        "error: LPSE_YEARS='2026,2O27' is not fiscal years such as 2026,2027 (default empty)\n"
    )
    assert not (tmp_path / "pantau.db").exists()  # nothing started
