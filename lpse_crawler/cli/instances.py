"""`instances`: the LPSE instances the crawler visits, their health, and adding or importing them."""

import csv
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import click

from lpse_crawler.cli.common import audited, db_command, emit
from lpse_crawler.spse.registry import base_url_problem
from lpse_crawler.store.database import write_transaction
from lpse_crawler.store.models import Instance


@click.group(help="The LPSE instances the crawler visits, and their health.")
def instances():
    pass


@instances.command("list")
@click.option("--failing", is_flag=True, help="Only instances whose last crawl failed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@db_command
def list_instances(failing, as_json):
    """Instances with their crawl health.  Example: python cli.py instances list --failing"""
    query = Instance.select().order_by(Instance.code)
    if failing:
        query = query.where(Instance.consecutive_failures > 0)
    rows = [
        {
            "code": i.code,
            "active": i.active,
            "province": i.province,
            "last_ok_at": i.last_ok_at,
            "failures": i.consecutive_failures,
            "new": i.last_new,
            "requests": i.last_requests,
            "last_error": (i.last_error or "")[:60],
        }
        for i in query
    ]
    columns = [
        ("code", "CODE"),
        ("active", "ACTIVE"),
        ("failures", "FAILS"),
        ("new", "NEW"),
        ("requests", "REQ"),
        ("last_ok_at", "LAST OK"),
        ("last_error", "LAST ERROR"),
    ]
    emit(rows, as_json, columns)


def _zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise click.ClickException(f"{name} is not a timezone (e.g. Asia/Makassar)") from exc
    return name


@instances.command("add")
@click.argument("code")
@click.option("--name", required=True, help="LPSE name.")
@click.option("--province", help="Province, for filters by province.")
@click.option("--timezone", default="Asia/Jakarta", show_default=True, help="Zone of its dates.")
@click.option("--base-url", help="Override LPSE_BASE_URL/<code>.")
@db_command
def add(code, name, province, timezone, base_url):
    """Add an instance.

    Example: python cli.py instances add newkab --name "LPSE Kab. Baru" --province Papua
    """
    if not code.replace("-", "").isalnum() or code != code.lower():
        raise click.ClickException(f"{code!r}: a code is lower-case letters, digits and '-'")
    if Instance.get_or_none(Instance.code == code):
        raise click.ClickException(f"instance {code} exists")
    if base_url and base_url_problem(base_url):
        raise click.ClickException(base_url_problem(base_url))
    with write_transaction():
        Instance.create(code=code, name=name, province=province, timezone=_zone(timezone), base_url=base_url)
    audited("instances.add", None, code)
    click.echo(f"added {code}")


def _set_active(code: str, active: bool) -> None:
    with write_transaction():
        if not Instance.update(active=active).where(Instance.code == code).execute():
            raise click.ClickException(f"no instance {code!r} (see: python cli.py instances list)")
    audited("instances.enable" if active else "instances.disable", None, code)
    click.echo(f"{code} {'enabled' if active else 'disabled'}")


@instances.command("enable")
@click.argument("code")
@db_command
def enable(code):
    """Crawl this instance again.  Example: python cli.py instances enable kemkes"""
    _set_active(code, True)


@instances.command("disable")
@click.argument("code")
@db_command
def disable(code):
    """Stop crawling this instance.  Example: python cli.py instances disable kemkes"""
    _set_active(code, False)


@instances.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@db_command
def import_csv(path: Path):
    """Add or update instances from a CSV with columns code,name[,province,timezone,base_url].

    Example: python cli.py instances import new-lpse.csv
    """
    with path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    missing = [n for n, r in enumerate(rows, 2) if not r.get("code") or not r.get("name")]
    if missing:
        raise click.ClickException(f"rows {missing} lack code or name; nothing imported")
    bad = [
        f"row {n}: {base_url_problem(r['base_url'])}"
        for n, r in enumerate(rows, 2)
        if r.get("base_url") and base_url_problem(r["base_url"])
    ]
    if bad:
        raise click.ClickException("; ".join(bad[:5]) + "; nothing imported")
    with write_transaction():
        for r in rows:
            values = {
                "name": r["name"],
                "province": r.get("province") or None,
                "timezone": _zone(r.get("timezone") or "Asia/Jakarta"),
                "base_url": r.get("base_url") or None,
            }
            if not Instance.update(**values).where(Instance.code == r["code"]).execute():
                Instance.create(code=r["code"], **values)
    audited("instances.import", None, f"{len(rows)} rows")
    click.echo(f"imported {len(rows)} instances")
