"""A loopback Xendit Invoice API: create an invoice (POST /v2/invoices/) and get one by id
(GET /v2/invoices/{id}), answered in Xendit's JSON with Basic auth checked, so the bot talks
to it through the real SDK over real HTTP. Tests settle invoices with `set_status`."""

import base64
import contextlib
import json
import secrets
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler

from tests.loopback import LoopbackServer

KEY = "xnd_development_TEST-key-never-logged"


class GatewayEmulator(LoopbackServer):
    def __init__(self, key: str = KEY):
        self.key = key
        self.lock = threading.Lock()
        self.invoices: dict[str, dict] = {}  # id -> the invoice as Xendit answers it
        self.created: list[dict] = []  # every create request body accepted
        self.gets: list[str] = []  # every invoice id asked for
        self.down = False  # answer 503 to everything
        super().__init__(self._handler())

    def set_status(self, invoice_id: str, status: str, paid_amount: int | None = None) -> None:
        """PAID (by QRIS, of the invoice's amount unless `paid_amount`), EXPIRED, FAILED, ..."""
        with self.lock:
            invoice = self.invoices[invoice_id]
            invoice["status"], invoice["updated"] = status, _now()
            if status in ("PAID", "SETTLED"):
                invoice |= {
                    "paid_amount": invoice["amount"] if paid_amount is None else paid_amount,
                    "paid_at": _now(),
                    "payment_method": "QR_CODE",
                    "payment_channel": "QRIS",
                }

    def only(self) -> dict:
        (invoice,) = self.invoices.values()
        return invoice

    def _create(self, body: dict) -> tuple[int, dict]:
        if not body.get("external_id") or not isinstance(body.get("amount"), int | float):
            return 400, {
                "error_code": "API_VALIDATION_ERROR",
                "message": "external_id and amount are required",
            }
        invoice_id = secrets.token_hex(12)
        now = datetime.now(UTC)
        invoice = {
            "id": invoice_id,
            "external_id": body["external_id"],
            "user_id": "5f0000000000000000000001",
            "status": "PENDING",
            "merchant_name": "Pantau LPSE",
            "merchant_profile_picture_url": "https://du8nwjtfkinx.cloudfront.net/xendit.png",
            "amount": body["amount"],
            "description": body.get("description"),
            "expiry_date": _iso(now + timedelta(seconds=body.get("invoice_duration", 86400))),
            "invoice_url": f"https://checkout-staging.xendit.co/web/{invoice_id}",
            "available_banks": [],
            "available_retail_outlets": [],
            "available_ewallets": [],
            "available_qr_codes": [{"qr_code_type": "QRIS"}],
            "available_direct_debits": [],
            "available_paylaters": [],
            "should_send_email": False,
            "created": _iso(now),
            "updated": _iso(now),
            "currency": body.get("currency", "IDR"),
        }
        with self.lock:
            self.created.append(body)
            self.invoices[invoice_id] = invoice
        return 200, invoice

    def _get(self, invoice_id: str) -> tuple[int, dict]:
        with self.lock:
            self.gets.append(invoice_id)
            invoice = self.invoices.get(invoice_id)
            if invoice is None:
                return 404, {"error_code": "INVOICE_NOT_FOUND_ERROR", "message": "Invoice not found"}
            return 200, dict(invoice)

    def _handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._serve("GET")

            def do_POST(self):
                self._serve("POST")

            def _serve(self, method: str) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                expected = "Basic " + base64.b64encode(f"{emulator.key}:".encode()).decode()
                path = self.path.split("?")[0].rstrip("/")
                if emulator.down:
                    status, answer = 503, {"error_code": "SERVER_ERROR", "message": "try again"}
                elif self.headers.get("Authorization") != expected:
                    status, answer = 401, {"error_code": "INVALID_API_KEY", "message": "API key is invalid"}
                elif method == "POST" and path == "/v2/invoices":
                    status, answer = emulator._create(json.loads(body or b"{}"))
                elif method == "GET" and path.startswith("/v2/invoices/"):
                    status, answer = emulator._get(path.rsplit("/", 1)[1])
                else:
                    status, answer = 404, {"error_code": "NOT_FOUND", "message": "no such endpoint"}
                data = json.dumps(answer).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        return Handler


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def _now() -> str:
    return _iso(datetime.now(UTC))
