"""`instances`: the LPSE instances the crawler visits: list, health history, add, import, remove."""

from pathlib import Path

import click

from lpse_crawler.cli.common import audited, db_command, emit, read_command
from lpse_crawler.spse import instance_csv
from lpse_crawler.spse.registry import load_registry
from lpse_crawler.store import instance_removal
from lpse_crawler.store.crawl_state import CYCLES_KEPT
from lpse_crawler.store.database import in_wib, write_transaction
from lpse_crawler.store.models import Instance, InstanceCycle, Tender

SHOWN_PROBLEMS = 5


@click.group(help="The LPSE instances the crawler visits, and their health.")
def instances():
    pass


@instances.command("list")
@click.option("--failing", is_flag=True, help="Only instances whose last crawl failed.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def list_instances(failing, as_json):
    """Instances with their crawl health (times in WIB).  Example: python cli.py instances list --failing"""
    query = Instance.select().order_by(Instance.code)
    if failing:
        query = query.where(Instance.consecutive_failures > 0)
    rows = [
        {
            "code": i.code,
            "active": i.active,
            "province": i.province,
            "last_ok_at": in_wib(i.last_ok_at),
            "last_error_at": in_wib(i.last_error_at),
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
        ("last_error_at", "LAST ERROR AT"),
        ("last_error", "LAST ERROR"),
    ]
    emit(rows, as_json, columns)


@instances.command("history")
@click.argument("code")
@click.option(
    "--limit", default=20, show_default=True, type=click.IntRange(1, CYCLES_KEPT), help="Cycles to show."
)
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@read_command
def history(code, limit, as_json):
    """An instance's last crawl cycles, newest first (times in WIB).

    Example: python cli.py instances history kemkes --limit 10
    """
    instance = _instance(code)
    query = InstanceCycle.select().where(InstanceCycle.instance == code).order_by(InstanceCycle.id.desc())
    cycles = [
        {
            "crawled_at": in_wib(c.crawled_at),
            "ok": c.ok,
            "new": c.new,
            "updated": c.updated,
            "requests": c.requests,
            "error": c.error or "",
        }
        for c in query.limit(limit)
    ]
    summary = {
        "code": code,
        "active": instance.active,
        "last_ok_at": in_wib(instance.last_ok_at),
        "last_error_at": in_wib(instance.last_error_at),
        "failures_in_a_row": instance.consecutive_failures,
        "last_error": instance.last_error,
    }
    if as_json:
        emit(summary | {"cycles": cycles}, True)
        return
    state = "active" if instance.active else "disabled"
    click.echo(
        f"{code} ({state}): last OK {summary['last_ok_at'] or 'never'}, last error "
        f"{summary['last_error_at'] or 'never'}, {instance.consecutive_failures} failure(s) in a row"
    )
    columns = [("crawled_at", "CRAWLED"), ("result", "RESULT"), ("new", "NEW"), ("updated", "UPD")]
    columns += [("requests", "REQ"), ("error", "ERROR")]
    shown = [c | {"result": "OK" if c["ok"] else "FAILED", "error": c["error"][:80]} for c in cycles]
    emit(shown, False, columns)


def _instance(code: str) -> Instance:
    found = Instance.get_or_none(Instance.code == code)
    if found is None:
        raise click.ClickException(f"no instance {code!r} (see: python cli.py instances list)")
    return found


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
    problems = instance_csv.problems(code, name, timezone, base_url, province)
    if problems:
        raise click.ClickException(problems[0])
    if Instance.get_or_none(Instance.code == code):
        raise click.ClickException(f"instance {code} exists")
    with write_transaction():
        Instance.create(code=code, name=name, province=province, timezone=timezone, base_url=base_url)
    audited("instances.add", None, code)
    click.echo(f"added {code}")


def _set_active(code: str, active: bool) -> None:
    with write_transaction():
        if not Instance.update(active=active).where(Instance.code == code).execute():
            raise click.ClickException(f"no instance {code!r} (see: python cli.py instances list)")
        watched = Tender.instance_first_seen == code, Tender.watch_due_at.is_null(False)
        followed = 0 if active else Tender.select().where(*watched).count()
    audited("instances.enable" if active else "instances.disable", None, code)
    click.echo(f"{code} {'enabled' if active else 'disabled'}")
    if followed:
        click.echo(f"followed packages listed there first, not read again until it is enabled: {followed}")


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
    """Add or update instances from a CSV (UTF-8, `,` or `;` as Excel writes it) with columns
    code,name[,province,timezone,base_url]. All rows or none; an empty cell leaves an
    existing instance's value as it is.

    Example: python cli.py instances import new-lpse.csv
    """
    try:
        rows = instance_csv.read_csv(path)
    except instance_csv.UnreadableCsv as exc:  # in full: db_command cuts messages at 300 characters
        raise click.ClickException(str(exc)) from exc
    problems = instance_csv.check_rows(rows)
    if problems:
        more = f"; and {len(problems) - SHOWN_PROBLEMS} more" if len(problems) > SHOWN_PROBLEMS else ""
        raise click.ClickException(
            f"{len(problems)} problem(s) in {path.name}, nothing imported: "
            + "; ".join(problems[:SHOWN_PROBLEMS])
            + more
        )
    added = updated = 0
    with write_transaction():
        for _, r in rows:
            given = {k: r[k] for k in ("name", "province", "timezone", "base_url") if r.get(k)}
            if Instance.update(**given).where(Instance.code == r["code"]).execute():
                updated += 1
            else:
                Instance.create(code=r["code"], **given)
                added += 1
    audited("instances.import", None, f"{added} added, {updated} updated")
    click.echo(f"imported {len(rows)} instances from {path.name}: {added} added, {updated} updated")
    registry = {r.code for r in load_registry()} & {r["code"] for _, r in rows}
    if registry:
        click.echo(
            f"note: {len(registry)} are registry instances: `db migrate` sets their name, province "
            "and timezone back to instances.csv's"
        )


@instances.command("remove")
@click.argument("code")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@db_command
def remove(code, yes):
    """Remove an instance an operator added, and the packages listed only there (audited).

    Packages also listed under another instance are kept and credited to it.
    Example: python cli.py instances remove kabbaru --yes
    """
    if code in {r.code for r in load_registry()}:
        raise click.ClickException(
            f"{code} is in the shipped registry (instances.csv) and comes back at every `db migrate`; "
            f"stop crawling it instead: python cli.py instances disable {code}"
        )
    _instance(code)
    instance_removal.refuse_while_crawled(code)
    only_here = instance_removal.packages_only_here(code)
    if not yes:
        click.confirm(
            f"Remove instance {code}, its {only_here.count()} package(s) listed nowhere else and the "
            "notifications about them? This cannot be undone",
            abort=True,
        )
    with write_transaction():
        instance_removal.refuse_while_crawled(code)
        removed = instance_removal.remove(code)
    detail = ", ".join(f"{n} {what}" for what, n in removed.items())
    audited("instances.remove", None, f"{code}: {detail}")
    click.echo(f"removed instance {code}: {detail}")
