"""Responses to the spider's own requests, for the in-process spider tests: DataTables pages
cut from the recorded rows as SPSE would serve them, the replay server's rendered pages, and
SPSE's error pages, each attached to the request the spider made (its meta is the spider's)."""

import asyncio
import json
from pathlib import Path
from urllib.parse import parse_qs

from scrapy.http import HtmlResponse, Request, TextResponse

from lpse_crawler.items import RawPackage
from tests.spse_replay.dataset import Dataset
from tests.spse_replay.server import TEMPLATES, render_announcement, render_schedule

RECORDED = Path(__file__).parent / "files" / "recorded"
BASE = "https://spse.inaproc.id/kemkes"
TOKEN = "4f1c2d9a0b7e"
TENDER_ROWS = json.loads((RECORDED / "dt_lelang_kemkes_tahun2025.json").read_text())["data"]
CODES = sorted((row[0] for row in TENDER_ROWS), key=int, reverse=True)  # 25 rows, newest first
DATASET = Dataset(["kemkes"])  # the replay server's packages: kemkes rows are the recorded ones


def start_requests(spider) -> list[Request]:
    async def collect():
        return [request async for request in spider.start()]

    return asyncio.run(collect())


def answer(request: Request, text: str, status: int = 200, headers: dict | None = None) -> HtmlResponse:
    return HtmlResponse(
        request.url, status=status, headers=headers, body=text.encode(), encoding="utf-8", request=request
    )


def listing_page(request: Request, token: str = TOKEN) -> HtmlResponse:
    """The listing shell with its token in the page and in the SPSE_SESSION cookie."""
    page = TEMPLATES["listing"].substitute(
        title="Daftar Paket",
        slug="kemkes",
        token=token,
        default_year=2026,
        endpoint="dt/lelang",
        table_id="tbllelang",
        year_options="",
    )
    cookie = f"SPSE_SESSION=9d2e-___AT={token}&___TS=1767225600000&___ID=s-1; Path=/; HttpOnly"
    return answer(request, page, headers={"Set-Cookie": cookie})


def datatables(request: Request, rows: list[list]) -> TextResponse:
    """What /dt/lelang answers to the request's form: rows in the order asked, one page."""
    form = parse_qs(request.body.decode())
    if form["order[0][column]"] == ["0"]:
        rows = sorted(rows, key=lambda r: int(r[0]), reverse=form["order[0][dir]"] == ["desc"])
    start, length = int(form["start"][0]), int(form["length"][0])
    body = {"draw": form["draw"][0], "recordsTotal": 2147483647, "data": rows[start : start + length]}
    return TextResponse(request.url, body=json.dumps(body).encode(), encoding="utf-8", request=request)


def error_page(request: Request, title: str, status: int = 200) -> HtmlResponse:
    return answer(request, TEMPLATES["error"].substitute(title=title, message=title), status)


def form_of(request: Request) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(request.body.decode()).items()}


def of_type(outputs: list, kind: type) -> list:
    return [o for o in outputs if isinstance(o, kind)]


def first_page_request(spider) -> Request:
    """The first listing page of the spider's first kind, after a fresh token."""
    return list(spider.parse_listing_page(listing_page(start_requests(spider)[0])))[-1]


def fetch(spider, announcement: Request) -> RawPackage:
    """Both detail tabs of a package, as the replay server renders them."""
    replayed = DATASET.get("kemkes", "tender", announcement.meta["row"].kode)
    (schedule,) = spider.parse_announcement_page(
        answer(announcement, render_announcement("kemkes", replayed))
    )
    (raw,) = spider.parse_schedule_page(answer(schedule, render_schedule("kemkes", replayed)))
    return raw
