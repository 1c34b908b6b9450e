"""A loopback Telegram Bot API: getUpdates, sendMessage, sendDocument, answerCallbackQuery,
editMessageText, getMe; scripted 429, 403, 5xx and slow answers; HTML checked as Telegram does."""

import contextlib
import json
import threading
import time
from collections import deque
from email.parser import BytesParser
from email.policy import default as default_policy
from html.parser import HTMLParser
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qs, urlsplit

from tests.loopback import LoopbackServer

ALLOWED_TAGS = {"b", "strong", "i", "em", "u", "ins", "s", "strike", "del", "a", "code", "pre", "tg-spoiler"}


class TelegramHTML(HTMLParser):
    """Raises ValueError on what Telegram refuses: unknown or unbalanced tags."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag not in ALLOWED_TAGS:
            raise ValueError(f'Bad Request: can\'t parse entities: unsupported start tag "{tag}"')
        self.stack.append(tag)

    def handle_endtag(self, tag):
        if not self.stack or self.stack.pop() != tag:
            raise ValueError(f'Bad Request: can\'t parse entities: unexpected end tag "{tag}"')


class TelegramEmulator(LoopbackServer):
    def __init__(self, token: str):
        self.token = token
        self.lock = threading.Condition()
        self.updates: list[dict] = []
        self.next_update = 1
        self.next_message = 1000
        self.sent: list[dict] = []  # every sendMessage/sendDocument/editMessageText accepted
        self.callback_answers: list[dict] = []
        self.blocked: set[int] = set()
        self.faults: deque = deque()  # for sendMessage: ("429", seconds) | ("500",) | ("slow", seconds)
        super().__init__(self._handler())

    @property
    def api_url(self) -> str:
        return self.url

    # -- what users do -------------------------------------------------------------------

    def user(self, chat_id: int, username: str | None = "budi_maju") -> dict:
        person = {"id": chat_id, "is_bot": False, "first_name": "Budi"}
        return person | ({"username": username} if username else {})

    def push_message(self, chat_id: int, text: str, username: str | None = "budi_maju") -> None:
        message = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id, username),
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        self._push({"message": message})

    def push_callback(
        self, chat_id: int, data: str, from_id: int | None = None, inline: bool = False
    ) -> None:
        """A button press; `inline`: on a message sent via the bot in inline mode, so no `message`."""
        query = {"id": f"cb{self.next_update}", "from": self.user(from_id or chat_id), "chat_instance": "1"}
        if inline:
            query["inline_message_id"] = f"inline{self.next_update}"
        else:
            chat = {"id": chat_id, "type": "private"}
            query["message"] = {
                "message_id": self.last_message_id(chat_id),
                "date": int(time.time()),
                "text": "...",
                "chat": chat,
            }
        self._push({"callback_query": query | {"data": data}})

    def texts_to(self, chat_id: int) -> list[str]:
        return [m["text"] for m in self.sent if m["chat_id"] == chat_id and "text" in m]

    def last_message_id(self, chat_id: int) -> int:
        ids = [m["message_id"] for m in self.sent if m["chat_id"] == chat_id]
        return ids[-1] if ids else 1

    def buttons(self, chat_id: int) -> list[tuple[str, str]]:
        """(label, callback_data) of the last message with a keyboard sent to the chat."""
        for m in reversed(self.sent):
            if m["chat_id"] == chat_id and m.get("reply_markup"):
                rows = json.loads(m["reply_markup"])["inline_keyboard"]
                return [(b["text"], b["callback_data"]) for row in rows for b in row]
        return []

    def _push(self, update: dict) -> None:
        with self.lock:
            self.updates.append({"update_id": self.next_update} | update)
            self.next_update += 1
            self.lock.notify_all()

    def _message_id(self) -> int:
        with self.lock:
            self.next_message += 1
            return self.next_message

    # -- the API ----------------------------------------------------------------------------

    def _handler(self):
        emulator = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # small answers on keep-alive: no 40 ms delayed-ACK stalls

            def log_message(self, *args):
                pass

            def do_GET(self):
                self._serve()

            def do_POST(self):
                self._serve()

            def _serve(self):
                url = urlsplit(self.path)
                prefix, _, method = url.path.lstrip("/").partition("/")
                params = {k: v[0] for k, v in parse_qs(url.query).items()}
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                params |= emulator._body_params(self.headers.get("Content-Type", ""), body)
                if prefix != f"bot{emulator.token}":
                    return self._answer(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
                status, payload = emulator.call(method, params)
                self._answer(status, payload)

            def _answer(self, status: int, payload: dict) -> None:
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(data)

        return Handler

    @staticmethod
    def _body_params(content_type: str, body: bytes) -> dict:
        if not body:
            return {}
        if content_type.startswith("multipart/"):
            message = BytesParser(policy=default_policy).parsebytes(
                b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
            )
            return {
                part.get_param("name", header="content-disposition"): part.get_payload(decode=True)
                for part in message.iter_parts()
            }
        return {k: v[0] for k, v in parse_qs(body.decode()).items()}

    def call(self, method: str, params: dict) -> tuple[int, dict]:
        handler = getattr(self, f"api_{method}", None)
        if handler is None:
            return 404, {"ok": False, "error_code": 404, "description": "Not Found"}
        return handler(params)

    def api_getMe(self, params):
        return 200, {
            "ok": True,
            "result": {"id": 1, "is_bot": True, "first_name": "Pantau", "username": "pantau_bot"},
        }

    def api_getUpdates(self, params):
        offset, wait = int(params.get("offset", 0)), min(float(params.get("timeout", 0)), 2.0)
        with self.lock:
            self.updates = [u for u in self.updates if u["update_id"] >= offset]
            if not self.updates and wait:
                self.lock.wait(wait)
            return 200, {"ok": True, "result": list(self.updates)}

    def api_sendMessage(self, params):
        chat_id = int(params["chat_id"])
        with self.lock:
            fault = self.faults.popleft() if self.faults else None
        if fault and fault[0] == "429":
            description = f"Too Many Requests: retry after {fault[1]}"
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": description,
                "parameters": {"retry_after": fault[1]},
            }
        if fault and fault[0] == "500":
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        if chat_id in self.blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        return self._accept(chat_id, params, "sendMessage")

    def api_editMessageText(self, params):
        return self._accept(int(params["chat_id"]), params, "editMessageText")

    def api_sendDocument(self, params):
        chat_id = int(params["chat_id"])
        with self.lock:
            self.sent.append(
                {
                    "method": "sendDocument",
                    "chat_id": chat_id,
                    "message_id": self._message_id(),
                    "document": params["document"],
                    "caption": params.get("caption"),
                }
            )
        return 200, {"ok": True, "result": self._message(chat_id, self.next_message, "")}

    def api_answerCallbackQuery(self, params):
        with self.lock:
            self.callback_answers.append(params)
        return 200, {"ok": True, "result": True}

    def _accept(self, chat_id: int, params: dict, method: str) -> tuple[int, dict]:
        text = params.get("text", "")
        if len(text) > 4096:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message is too long"}
        if params.get("parse_mode") == "HTML":
            try:
                TelegramHTML().feed(text)
            except ValueError as exc:
                return 400, {"ok": False, "error_code": 400, "description": str(exc)}
        message_id = int(params.get("message_id") or self._message_id())
        with self.lock:
            self.sent.append(
                {
                    "method": method,
                    "chat_id": chat_id,
                    "message_id": message_id,
                    "text": text,
                    "reply_markup": params.get("reply_markup"),
                    "at": time.monotonic(),
                }
            )
        return 200, {"ok": True, "result": self._message(chat_id, message_id, text)}

    @staticmethod
    def _message(chat_id: int, message_id: int, text: str) -> dict:
        return {
            "message_id": message_id,
            "date": int(time.time()),
            "text": text,
            "chat": {"id": chat_id, "type": "private"},
        }
