"""One configuration module: every variable with its default, documented in .env.example."""

import re
from pathlib import Path

import pytest

from lpse_crawler import config
from tests.conftest import ROOT


def env_example() -> dict[str, str]:
    lines = (ROOT / ".env.example").read_text(encoding="utf-8").splitlines()
    return dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))


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


BAD_VALUES = [("LPSE_PAGE_SIZE", "abc"), ("LPSE_BROWSER", "maybe"), ("SENDER_RATE", "cepat")]


@pytest.mark.parametrize(("name", "value"), BAD_VALUES)
def test_a_value_that_does_not_parse_names_the_variable(name, value):
    with pytest.raises(config.ConfigError, match=f"^{name}="):
        config.get(name, {name: value})
