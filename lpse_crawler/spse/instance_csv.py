"""Reading and checking an instances import CSV, and the values an instance must have."""

import csv
import io
import re
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from lpse_crawler.spse.registry import base_url_problem

CODE = re.compile(r"[a-z0-9][a-z0-9-]{0,63}")
COLUMNS = ("code", "name", "province", "timezone", "base_url")  # of an import CSV
MAX_IMPORT_BYTES = 5 * 1024 * 1024
MAX_IMPORT_ROWS = 5000
MAX_CHARS = 255  # a text column's width (varchar(255) on PostgreSQL)


class UnreadableCsv(ValueError):
    """An import CSV that cannot be read as a whole; the message says why, on one line."""


def problems(
    code: str, name: str, timezone: str | None, base_url: str | None, province: str | None = None
) -> list[str]:
    """What makes these values unfit for an instance (empty: nothing)."""
    if not code or not name:
        return ["must not lack code or name"]
    found = [
        f"the {label} is longer than {MAX_CHARS} characters"
        for label, value in (("name", name), ("province", province), ("base URL", base_url))
        if value and len(value) > MAX_CHARS
    ]
    if not CODE.fullmatch(code):
        found.append(f"{code[:70]!r}: a code is lower-case letters, digits and '-'")
    if timezone:
        try:
            ZoneInfo(timezone)
        except (ZoneInfoNotFoundError, ValueError):
            found.append(f"{timezone[:70]!r} is not a timezone (e.g. Asia/Makassar)")
    if base_url and base_url_problem(base_url):
        found.append(base_url_problem(base_url))
    return found


def read_csv(path: Path) -> list[tuple[int, dict[str, str]]]:
    """(spreadsheet row number, cells by lower-case column) of each non-blank row."""
    if path.stat().st_size > MAX_IMPORT_BYTES:
        raise UnreadableCsv(f"{path.name} is over {MAX_IMPORT_BYTES // 2**20} MB: split it")
    try:
        text = path.read_bytes().decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise UnreadableCsv(
            f"{path.name} is not UTF-8 text (byte {exc.start}): save it as 'CSV UTF-8' in Excel"
        ) from exc
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        header = [h.strip().lower() for h in next(reader, [])]
        check_header(path, header)
        rows = []
        for number, cells in enumerate(reader, 2):
            if number > MAX_IMPORT_ROWS + 1:
                raise UnreadableCsv(f"{path.name} has over {MAX_IMPORT_ROWS} rows: split it")
            if any(c.strip() for c in cells):
                values = dict(zip(header, (c.strip() for c in cells), strict=False))
                values["extra"] = "".join(c.strip() for c in cells[len(header) :])
                rows.append((number, values))
    except csv.Error as exc:
        raise UnreadableCsv(f"{path.name} line {reader.line_num}: {exc}") from exc
    return rows


def check_header(path: Path, header: list[str]) -> None:
    """Refuse a first line that does not name code and name, and only known columns, once each."""
    if not any(header):
        raise UnreadableCsv(f"{path.name} is empty: its first line names the columns, e.g. code,name")
    unknown = [h for h in header if h not in COLUMNS]
    if unknown or {"code", "name"} - set(header) or len(set(header)) < len(header):
        raise UnreadableCsv(
            f"{path.name}: the first line names the columns {', '.join(header)[:200]}; "
            f"expected code and name, optionally {', '.join(COLUMNS[2:])}, each once"
        )


def check_rows(rows: list[tuple[int, dict[str, str]]]) -> list[str]:
    """Every problem of every row, numbered as in a spreadsheet."""
    found, first_row = [], {}
    for number, r in rows:
        code = r.get("code", "")
        here = problems(code, r.get("name", ""), r.get("timezone"), r.get("base_url"), r.get("province"))
        if r["extra"]:
            here.append("more cells than the first line has columns")
        if code and code in first_row:
            here.append(f"code {code[:70]} is on row {first_row[code]} already")
        first_row.setdefault(code, number)
        found += [f"row {number}: {problem}" for problem in here]
    return found
