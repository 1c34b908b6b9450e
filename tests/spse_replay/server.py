"""SpseReplayServer: behaves like spse.inaproc.id for the crawler, over real HTTP on loopback.

Token in cookie and page, token required on the POST, DataTables paging and ordering,
Referer required on detail tabs, and faults injected per instance (see Fault).
"""

import contextlib
import html
import json
import secrets
import threading
import time
import uuid
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from string import Template
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer
from tests.spse_replay.dataset import Dataset, Package

TEMPLATES = {
    p.stem: Template(p.read_text(encoding="utf-8"))
    for p in (__import__("pathlib").Path(__file__).parent / "templates").glob("*.html")
}
MONTHS = [
    "Januari",
    "Februari",
    "Maret",
    "April",
    "Mei",
    "Juni",
    "Juli",
    "Agustus",
    "September",
    "Oktober",
    "November",
    "Desember",
]
KINDS = {"lelang": "tender", "nontender": "nontender"}
ENDPOINTS = {"lelang": "tender", "pl": "nontender"}
DETAIL_TABS = {
    ("lelang", "pengumumanlelang"),
    ("lelang", "jadwal"),
    ("nontender", "pengumumanpl"),
    ("nontender", "jadwal"),
}

RESULT_TABS = {"evaluasi": "tender", "evaluasinontender": "nontender"}
RESULTS = ("pemenang", "pemenangberkontrak")


@dataclass
class Fault:
    """A misbehaviour of one instance: kind, how many answers it spoils (None: all)."""

    kind: str  # http500 | http429 | cloudflare | slow | malformed_json | columns | expired_token | error_page
    #            | endless (every page holds new, older rows) | ignores_start (page 1 for every start)
    times: int | None = None
    seconds: float = 0.0  # for 'slow'
    fail_details: bool = False  # detail tabs answer SPSE's error page as well

    def spend(self) -> bool:
        if self.times is None:
            return True
        if self.times <= 0:
            return False
        self.times -= 1
        return True


def rupiah(amount: int) -> str:
    return f"{amount:,}".replace(",", ".") + ",00"


def id_date(moment, with_time: bool = False) -> str:
    text = f"{moment.day} {MONTHS[moment.month - 1]} {moment.year}"
    return f"{text} {moment:%H:%M}" if with_time else text


class SpseReplayServer(LoopbackServer):
    """Start with `with SpseReplayServer(instances) as server:`; `server.base_url`."""

    def __init__(self, instances: list[str], port: int = 0, rows_per_kind: int = 25):
        self.dataset = Dataset(instances, rows_per_kind)
        self.faults: dict[str, Fault] = {}
        self.tokens: dict[str, str] = {}  # session id -> token
        self.requests: Counter = Counter()  # (slug, what) -> count
        self.times: list[float] = []  # when each request arrived (time.monotonic)
        self.proxied = 0  # requests that reached us as an HTTP proxy
        self.clearance = secrets.token_hex(8)
        self.lock = threading.Lock()
        super().__init__(self._handler_class(), port)

    @property
    def base_url(self) -> str:
        return self.url

    def expire_tokens(self) -> None:
        """Every session token stops working (as after a server restart)."""
        with self.lock:
            self.tokens.clear()

    def count(self, slug: str | None = None) -> int:
        return sum(n for (s, _), n in self.requests.items() if slug is None or s == slug)

    def _handler_class(self):
        server = self

        class Handler(SpseHandler):
            replay = server

        return Handler


class SpseHandler(BaseHTTPRequestHandler):
    replay: SpseReplayServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # small answers on keep-alive: no 40 ms delayed-ACK stalls

    def log_message(self, *args):  # keep test output quiet
        pass

    def do_GET(self):
        self._route("GET")

    def do_POST(self):
        self._route("POST")

    # -- routing ------------------------------------------------------------------------

    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        parts = [p for p in url.path.split("/") if p]
        if parts == ["robots.txt"]:
            self.replay.proxied += self.path.startswith("http")
            return self._send(200, "User-agent: *\nAllow: /\n", "text/plain")
        slug = parts[0] if parts else ""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
        with self.replay.lock:
            self.replay.requests[(slug, method)] += 1
            self.replay.times.append(time.monotonic())
            self.replay.proxied += self.path.startswith("http")  # absolute URI: we were the proxy
            fault = self.replay.faults.get(slug)
        if fault and self._apply_fault(fault, parts):
            return
        rest = parts[1:]
        if method == "GET" and len(rest) == 1 and rest[0] in KINDS:
            return self._listing_page(slug, rest[0])
        if method == "POST" and len(rest) == 2 and rest[0] == "dt" and rest[1] in ENDPOINTS:
            return self._datatables(slug, ENDPOINTS[rest[1]], parse_qs(url.query), parse_qs(body), fault)
        if method == "GET" and len(rest) == 3 and (rest[0], rest[2]) in DETAIL_TABS:
            return self._detail(slug, KINDS[rest[0]], rest[1], rest[2], fault)
        if method == "GET" and len(rest) == 3 and rest[0] in RESULT_TABS and rest[2] in RESULTS:
            return self._detail(slug, RESULT_TABS[rest[0]], rest[1], rest[2], fault)
        return self._error(404, "Halaman yang dituju tidak ditemukan")

    def _apply_fault(self, fault: Fault, parts: list[str]) -> bool:
        """Answer for a fault that replaces the whole response; False to go on."""
        is_dt = len(parts) > 1 and parts[1] == "dt"
        if fault.kind == "cloudflare":
            if f"cf_clearance={self.replay.clearance}" in (self.headers.get("Cookie") or ""):
                return False
            page = TEMPLATES["challenge"].substitute(clearance=self.replay.clearance)
            self._send(403, page, "text/html", {"cf-mitigated": "challenge"})
            return True
        if fault.kind == "http429" and fault.spend():
            self._send(429, "Too Many Requests", "text/plain", {"Retry-After": "1"})
            return True
        if fault.kind == "http500" and is_dt and fault.spend():
            self._send(500, "Internal Server Error", "text/plain")
            return True
        if fault.kind == "slow" and is_dt and fault.spend():
            time.sleep(fault.seconds)
        return False

    # -- pages ----------------------------------------------------------------------------

    def _listing_page(self, slug: str, listing: str) -> None:
        token, session_id = secrets.token_hex(20), str(uuid.uuid4())
        with self.replay.lock:
            self.replay.tokens[session_id] = token
        cookie = (
            f"SPSE_SESSION={secrets.token_hex(20)}-___AT={token}&___TS={int(time.time() * 1000)}"
            f"&___ID={session_id}; Path=/; HttpOnly"
        )
        page = TEMPLATES["listing"].substitute(
            title="Daftar Paket",
            slug=slug,
            token=token,
            default_year=2026,
            endpoint="dt/lelang" if listing == "lelang" else "dt/pl",
            table_id="tbllelang" if listing == "lelang" else "tblnontender",
            year_options="".join(f"<option value='{y}'>{y}</option>" for y in range(2024, 2028)),
        )
        self._send(200, page, "text/html", {"Set-Cookie": cookie})

    def _datatables(self, slug: str, kind: str, query: dict, form: dict, fault: Fault | None) -> None:
        token = (form.get("authenticityToken") or [""])[0]
        if not token:
            return self._error(403, "Terjadi Kesalahan")
        session_id = (self.headers.get("Cookie") or "").split("___ID=")[-1].split(";")[0]
        with self.replay.lock:
            valid = self.replay.tokens.get(session_id) == token
            if valid and fault and fault.kind == "expired_token" and fault.spend():
                self.replay.tokens.pop(session_id, None)
                valid = False
        if not valid:
            return self._error(200, "Terjadi Kesalahan")  # SPSE answers a stale token with HTML
        year = int((query.get("tahun") or ["0"])[0])
        rows = [p.cells for p in self.replay.dataset.listed(slug, kind, year)]
        column = int((form.get("order[0][column]") or ["5"])[0])
        descending = (form.get("order[0][dir]") or ["desc"])[0] == "desc"
        key = (lambda r: int(r[0])) if column == 0 else (lambda r: str(r[column]))
        rows.sort(key=key, reverse=descending)
        start, length = int(form["start"][0]), int(form["length"][0])
        if fault and fault.kind == "ignores_start":
            start = 0
        page = rows[start:] if length < 0 else rows[start : start + length]
        if fault and fault.kind == "endless":
            template = next(p.cells for p in self.replay.dataset.packages.values() if p.kind == kind)
            page = [[str(99_000_000_000 - (start + i) * 1000), *template[1:]] for i in range(length)]
        if fault and fault.kind == "columns" and fault.spend():
            page = [row + ["extra"] for row in page]
        payload = json.dumps(
            {
                "draw": (form.get("draw") or ["1"])[0],
                "recordsTotal": 2147483647,
                "recordsFiltered": 2147483647,
                "data": page,
            }
        )
        if fault and fault.kind == "malformed_json" and fault.spend():
            payload = payload[: len(payload) // 2]
        self._send(200, payload, "application/json")

    def _detail(self, slug: str, kind: str, kode: str, tab: str, fault: Fault | None) -> None:
        if f"/{slug}/" not in (self.headers.get("Referer") or ""):
            return self._error(403, "Akses Ditolak!")
        package = self.replay.dataset.get(slug, kind, kode)
        if package is None:
            return self._error(404, "Halaman yang dituju tidak ditemukan")
        if fault and (fault.kind == "error_page" or fault.fail_details) and fault.spend():
            return self._error(200, "Maaf, terjadi error pada aplikasi SPSE.")
        if tab == "jadwal":
            page = render_schedule(slug, package)
        elif tab.startswith("pemenang"):
            page = render_results(slug, package, contract=tab == "pemenangberkontrak")
        else:
            page = render_announcement(slug, package)
        self._send(200, page, "text/html")

    def _error(self, status: int, title: str) -> None:
        self._send(status, TEMPLATES["error"].substitute(title=title, message=title), "text/html")

    def _send(self, status: int, text: str, content_type: str, headers: dict | None = None) -> None:
        data = text.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", f"{content_type}; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.wfile.write(data)  # the client may have given up (timeout tests)


def render_announcement(slug: str, p: Package) -> str:
    name_cell = p.cells[1]
    nama, _, badges = name_cell.partition("<span")
    tender = p.kind == "tender"
    kbli_rows = f"<tr><td>{p.kbli[0]}</td><td>{p.kbli[1]}</td><td>KBLI 2020</td></tr>" if p.kbli else ""
    values = dict(
        slug=slug,
        kode=p.kode,
        nama=nama.strip(),
        badges=f"<span{badges}" if badges else "",
        tanggal_pembuatan=id_date(p.tanggal_pembuatan),
        tahap=html.escape(p.cells[3]),
        instansi=html.escape(p.cells[2]),
        satker=html.escape(p.satker),
        kategori=p.cells[8 if tender else 6].rsplit(" - TA ", 1)[0],
        metode=" - ".join(p.cells[i] for i in ((6, 5, 7) if tender else (5,))),
        tahun=p.years[0],
        pagu=rupiah(p.pagu),
        hps=rupiah(p.hps),
        lokasi=html.escape(p.lokasi),
        kualifikasi=p.kualifikasi or "",
        kbli_rows=kbli_rows,
    )
    return TEMPLATES["pengumumanlelang" if tender else "pengumumanpl"].substitute(values)


def render_schedule(slug: str, p: Package) -> str:
    start = p.tanggal_pembuatan.replace(hour=8)
    return TEMPLATES["jadwal"].substitute(
        slug=slug,
        kode=p.kode,
        nama=html.escape(p.cells[1].split("<span")[0].strip()),
        first_stage="Pengumuman Pascakualifikasi" if p.kind == "tender" else "Undangan",
        start=id_date(start, True),
        deadline=p.deadline_text or id_date(p.deadline, True),
        after=id_date(p.deadline.replace(minute=59), True),
    )


def render_results(slug: str, p: Package, contract: bool) -> str:
    """The winner tab (`pemenang`) or the contract tab (`pemenangberkontrak`): a row per party."""
    tender = p.kind == "tender"
    names = (
        ("Harga Kontrak", "Nilai PDN", "Nilai UMK")
        if contract
        else ("Harga Penawaran", "Harga Terkoreksi", "Hasil Negosiasi")
    )
    rows = "".join(
        f"<tr><td>{html.escape(nama)}</td><td>Jl. Contoh No. {n} - Jakarta Selatan (Kota)</td>"
        f"<td>0*.1**.2**.*-*1{n}.**0</td><td>{rupiah(amount)}</td><td>{rupiah(amount)}</td>"
        f"<td>{rupiah(0 if contract else amount)}</td></tr>"
        for n, (nama, amount) in enumerate(p.contracts if contract else p.winners, start=1)
    )
    return TEMPLATES["hasil"].substitute(
        slug=slug,
        kode=p.kode,
        kind_path="lelang" if tender else "nontender",
        announcement="pengumumanlelang" if tender else "pengumumanpl",
        evaluasi="evaluasi" if tender else "evaluasinontender",
        name_label="Nama Tender" if tender else "Nama Paket",
        nama=html.escape(p.cells[1].split("<span")[0].strip()),
        kategori=p.cells[8 if tender else 6].rsplit(" - TA ", 1)[0],
        instansi=html.escape(p.cells[2]),
        pagu=rupiah(p.pagu),
        hps=rupiah(p.hps),
        columns="".join(f"<th>{name}</th>" for name in names),
        rows=rows,
    )
