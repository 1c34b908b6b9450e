"""The payment gateway (Xendit's Invoice API through its official SDK): create a payment link,
read an invoice's status. Only ids, amounts and a description go out, no personal data.

The SDK is imported on first use: it costs a second, and the CLI never needs it.
"""

import logging
from dataclasses import dataclass

log = logging.getLogger(__name__)
TIMEOUT = 20  # seconds for one request to the gateway
PAID_STATUSES = ("PAID", "SETTLED")  # SETTLED: paid, and the money reached the balance
OPEN_STATUS = "PENDING"


class GatewayError(RuntimeError):
    """The gateway did not answer, or answered an error; the message holds no secret."""


@dataclass(frozen=True)
class GatewayInvoice:
    id: str  # the gateway's invoice id
    url: str  # where the user pays (QRIS, virtual account, e-wallet)
    status: str  # PENDING | PAID | SETTLED | EXPIRED | what else the gateway says, upper case
    amount: int  # rupiah billed
    paid_amount: int | None  # rupiah paid, when the gateway says
    currency: str
    method: str  # how it was paid, once paid: QR_CODE, BANK_TRANSFER, EWALLET, ... (else "")


class XenditGateway:
    """Xendit Invoice API at `url` (https://api.xendit.co, or a loopback emulator)."""

    name = "xendit"

    def __init__(self, key: str, url: str):
        from xendit import ApiClient, Configuration
        from xendit.apis import InvoiceApi

        configuration = Configuration(host=url.rstrip("/"), api_key=key)
        self._api = InvoiceApi(ApiClient(configuration))

    def create(self, external_id: str, amount: int, description: str, seconds: int) -> GatewayInvoice:
        """A new invoice of `amount` rupiah that expires after `seconds`."""
        from xendit.invoice.model.create_invoice_request import CreateInvoiceRequest

        request = CreateInvoiceRequest(
            external_id=external_id,
            amount=float(amount),
            description=description,
            invoice_duration=float(seconds),
            currency="IDR",
        )
        return self._call("create", lambda: self._api.create_invoice(request, _request_timeout=TIMEOUT))

    def get(self, invoice_id: str) -> GatewayInvoice:
        return self._call("get", lambda: self._api.get_invoice_by_id(invoice_id, _request_timeout=TIMEOUT))

    @staticmethod
    def _call(what: str, request) -> GatewayInvoice:
        from urllib3.exceptions import HTTPError
        from xendit.exceptions import OpenApiException, XenditSdkException

        try:
            invoice = request()
        except XenditSdkException as exc:  # an error answer: status and Xendit's error code
            raise GatewayError(f"{what}: HTTP {exc.status} {exc.errorCode}") from None
        except (OpenApiException, HTTPError, OSError, ValueError) as exc:  # network; an unreadable answer
            raise GatewayError(f"{what}: {type(exc).__name__}: {str(exc)[:200]}") from None
        return _invoice(invoice)


def _invoice(invoice) -> GatewayInvoice:
    data = invoice.to_dict()
    status = data.get("status")
    status = str(getattr(status, "value", status) or "").upper()
    paid = data.get("paid_amount")
    currency, method = data.get("currency"), data.get("payment_method")
    return GatewayInvoice(
        id=str(data.get("id") or ""),
        url=str(data.get("invoice_url") or ""),
        status=status,
        amount=int(round(float(data.get("amount") or 0))),
        paid_amount=None if paid is None else int(round(float(paid))),
        currency=str(getattr(currency, "value", currency) or "IDR"),
        method=str(getattr(method, "value", method) or ""),
    )
