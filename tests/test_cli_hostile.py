"""Every CLI command with hostile arguments: one-line errors, never a traceback.

Hypothesis picks a command from the whole click tree and fills each of its parameters
with values operators mistype or attackers try (huge numbers, bad dates, paths into
missing folders, 300 characters, control characters, SQL); the command runs in a scratch
folder against a database holding one subscriber. Only what a shell can pass: no NUL, and
no lone surrogate but the ones Python makes of bytes that are not UTF-8.
"""

import os

import click
import pytest
from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cli import cli
from lpse_crawler.store.database import database
from tests.test_cli import env, person  # noqa: F401  (fixtures)

HOSTILE = [
    "",
    " ",
    "-1",
    "0",
    "1",
    "99999999999999999999999",
    "1e309",
    "NaN",
    "chat:999999999999999999999999999999",
    "chat:",
    "x" * 300,
    "/nonexistent/folder/file.db",
    "../../etc/passwd",
    "'; DROP TABLE subscriber;--",
    "\x1b[31m",
    "🙂",
    "\udcff",  # a byte that is not UTF-8, as Python hands it over from the shell
    "2026-13",
    "2026-02-30",
    "0000-01",
    "9999-12",
    "2026-12-01..2099-12-31",
    "2027-01-01..2026-01-01",
    "49.000",
    "Rp 49.000",
    "+62 813",
    "a@b",
    "siti@rahma.id",
    "kemkes",
    "INV-2026-0001",
    "sqlite:///",
    "postgres://x@127.0.0.1:1/y",
]
SKIPPED = {("crawl",)}  # starts `scrapy crawl`: its arguments are checked by test_cli_safety


def commands(group=cli, path=()):
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            yield from commands(command, (*path, name))
        elif (*path, name) not in SKIPPED:
            yield (*path, name), command


COMMANDS = list(commands())


@st.composite
def invocations(draw):
    path, command = draw(st.sampled_from(COMMANDS))
    argv = list(path)
    for param in command.params:
        if param.name == "help":
            continue
        if isinstance(param, click.Option):
            if not draw(st.booleans()):
                continue
            if param.is_flag:
                argv.append(param.opts[0])
                continue
            argv.append(param.opts[0])
        choices = list(getattr(param.type, "choices", []))
        typed = st.text(st.characters(exclude_characters="\x00", exclude_categories=["Cs"]), max_size=40)
        argv.append(draw(st.sampled_from(choices + HOSTILE) | typed))
    return argv


@pytest.mark.slow
@settings(
    max_examples=int(os.environ.get("HOSTILE_EXAMPLES", "300")),  # 300 in CI; more by hand
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(argv=invocations())
def test_no_command_answers_hostile_arguments_with_a_traceback(person, tmp_path, monkeypatch, argv):
    monkeypatch.chdir(tmp_path)  # files the commands write land in the scratch folder
    result = CliRunner().invoke(cli, argv, input="n\n")
    if database.obj is not None:
        database.close()
    assert result.exception is None or isinstance(result.exception, SystemExit), (argv, result.output)
    assert result.exit_code in (0, 1, 2), (argv, result.output)
    assert "Traceback" not in result.output, argv
