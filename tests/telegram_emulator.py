"""A loopback Telegram Bot API: getUpdates, sendMessage, sendDocument, sendPhoto, copyMessage,
forwardMessage, answerCallbackQuery, editMessageText, getMe; private chats, groups and channels,
photos, documents and replies; scripted 429, 403, 5xx and slow answers; a simulated round trip
(`round_trip`, waited before each answer: a request counts when it arrives); HTML checked as Telegram does."""

import contextlib
import html
import json
import re
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


def plain(text: str) -> str:
    """A message's HTML as its recipients' clients get it in `text`: without tags, unescaped."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


class TelegramEmulator(LoopbackServer):
    def __init__(self, token: str):
        self.token = token
        self.lock = threading.Condition()
        self.updates: list[dict] = []
        self.next_update = 1
        self.next_message = 1000
        self.sent: list[dict] = []  # every sendMessage/sendDocument/editMessageText accepted
        self.callback_answers: list[dict] = []
        self.markup_edits: list[dict] = []  # editMessageReplyMarkup calls (a keyboard changed or removed)
        self.blocked: set[int] = set()
        # sendMessage, sendPhoto, copyMessage, forwardMessage: ("429", seconds) | ("500",) | ("slow", seconds)
        self.faults: deque = deque()
        self.messages: dict[tuple[int, int], dict] = {}  # (chat, message id) -> every message pushed
        self.round_trip = 0.0  # seconds every call takes, as the network to Telegram would
        self.in_flight = self.in_flight_peak = 0  # calls being answered now, and at most
        super().__init__(self._handler())

    @property
    def api_url(self) -> str:
        return self.url

    # -- what users do -------------------------------------------------------------------

    def user(self, chat_id: int, username: str | None = "budi_maju") -> dict:
        person = {"id": chat_id, "is_bot": False, "first_name": "Budi"}
        return person | ({"username": username} if username else {})

    def push_message(
        self,
        chat_id: int,
        text: str,
        username: str | None = "budi_maju",
        chat_type: str = "private",
        from_id: int | None = None,
        reply_to: int | None = None,
    ) -> int:
        """A text message (in a group: from `from_id`); `reply_to`: the id of a message in the
        chat it replies to. Returns its message id."""
        message = self._new_message(chat_id, chat_type, from_id, username, reply_to) | {"text": text}
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        return self._push_message(message)

    def push_photo(self, chat_id: int, caption: str | None = None, **kwargs) -> int:
        """A photo (e.g. a transfer receipt), with push_message's keyword arguments."""
        message = self._new_message(chat_id, **kwargs)
        message["photo"] = [
            {"file_id": f"photo{message['message_id']}", "file_unique_id": "p1", "width": 90, "height": 90}
        ]
        return self._push_message(message | ({"caption": caption} if caption else {}))

    def push_document(self, chat_id: int, file_name: str, caption: str | None = None, **kwargs) -> int:
        """A document (a PDF receipt), with push_message's keyword arguments."""
        message = self._new_message(chat_id, **kwargs)
        message["document"] = {
            "file_id": f"doc{message['message_id']}",
            "file_unique_id": "d1",
            "file_name": file_name,
        }
        return self._push_message(message | ({"caption": caption} if caption else {}))

    def push_sticker(self, chat_id: int, **kwargs) -> int:
        message = self._new_message(chat_id, **kwargs)
        message["sticker"] = {
            "file_id": "sticker1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return self._push_message(message)

    def push_channel_post(self, chat_id: int, text: str) -> int:
        """A post in a channel the bot administers: no `from`, a `sender_chat`."""
        channel = {"id": chat_id, "type": "channel", "title": "Kanal Tender"}
        post = {"message_id": self._message_id(), "date": int(time.time()), "chat": channel}
        post |= {"sender_chat": channel, "text": text}
        if text.startswith("/"):
            post["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
        with self.lock:
            self.messages[(chat_id, post["message_id"])] = post
        self._push({"channel_post": post})
        return post["message_id"]

    def throttle(self, calls: int, retry_after: int) -> None:
        """The next `calls` sends (sendMessage, sendPhoto, copyMessage, forwardMessage) get 429."""
        with self.lock:
            self.faults.extend([("429", retry_after)] * calls)

    def _new_message(
        self,
        chat_id: int,
        chat_type: str = "private",
        from_id: int | None = None,
        username: str | None = "budi_maju",
        reply_to: int | None = None,
    ) -> dict:
        chat = {"id": chat_id, "type": chat_type}
        if chat_type != "private":
            chat["title"] = "Grup Pengadaan"
        message = {
            "message_id": self._message_id(),
            "date": int(time.time()),
            "chat": chat,
            "from": self.user(from_id or chat_id, username),
        }
        if reply_to is not None:
            message["reply_to_message"] = self._replied(chat_id, reply_to)
        return message

    def _replied(self, chat_id: int, message_id: int) -> dict:
        """The message replied to, as Telegram embeds it: one the bot sent, or one pushed."""
        with self.lock:
            if (chat_id, message_id) in self.messages:
                return dict(self.messages[(chat_id, message_id)])
            sent = [m for m in self.sent if m["chat_id"] == chat_id and m["message_id"] == message_id]
        original = self._message(chat_id, message_id, "")
        original["from"] = {"id": 1, "is_bot": True, "first_name": "Pantau", "username": "pantau_bot"}
        if sent:  # as Telegram shows it: plain text, the HTML markup gone into entities
            original.pop("text")
            original |= {k: plain(sent[-1][k]) for k in ("text", "caption") if sent[-1].get(k) is not None}
        return original

    def _push_message(self, message: dict) -> int:
        with self.lock:
            self.messages[(message["chat"]["id"], message["message_id"])] = message
        self._push({"message": message})
        return message["message_id"]

    def push_callback(
        self,
        chat_id: int,
        data: str,
        from_id: int | None = None,
        inline: bool = False,
        chat_type="private",
        message_id: int | None = None,
    ) -> None:
        """A button press (on the chat's last message, or `message_id`); `inline`: on a message
        sent via the bot in inline mode, so no `message`."""
        query = {"id": f"cb{self.next_update}", "from": self.user(from_id or chat_id), "chat_instance": "1"}
        if inline:
            query["inline_message_id"] = f"inline{self.next_update}"
        else:
            chat = {"id": chat_id, "type": chat_type}
            query["message"] = {
                "message_id": message_id or self.last_message_id(chat_id),
                "date": int(time.time()),
                "text": "...",
                "chat": chat,
            }
        self._push({"callback_query": query | {"data": data}})

    def block(self, chat_id: int) -> None:
        """The user blocks the bot: sends to them get 403, and the bot is told (my_chat_member)."""
        self.blocked.add(chat_id)
        self._push_membership(chat_id, "member", "kicked")

    def unblock(self, chat_id: int) -> None:
        """The user unblocks the bot (Telegram Desktop and Web send no /start with it)."""
        self.blocked.discard(chat_id)
        self._push_membership(chat_id, "kicked", "member")

    def _push_membership(self, chat_id: int, old: str, new: str) -> None:
        bot = {"id": 1, "is_bot": True, "first_name": "Pantau", "username": "pantau_bot"}
        update = {
            "chat": {"id": chat_id, "type": "private"},
            "from": self.user(chat_id),
            "date": int(time.time()),
        }
        update |= {
            "old_chat_member": {"user": bot, "status": old},
            "new_chat_member": {"user": bot, "status": new},
        }
        self._push({"my_chat_member": update})

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
                with emulator.lock:
                    emulator.in_flight += 1
                    emulator.in_flight_peak = max(emulator.in_flight_peak, emulator.in_flight)
                try:
                    status, payload = emulator.call(method, params)
                    if emulator.round_trip:  # the network's whole delay, there and back
                        time.sleep(emulator.round_trip)
                finally:
                    with emulator.lock:
                        emulator.in_flight -= 1
                self._answer(status, payload)

            def _answer(self, status: int, payload: dict | str) -> None:
                if isinstance(payload, str):  # a proxy's page in front of the API, not the API's JSON
                    data, kind = payload.encode(), "text/html"
                else:
                    data, kind = json.dumps(payload).encode(), "application/json"
                self.send_response(status)
                self.send_header("Content-Type", kind)
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
        refused = self._fault(chat_id)
        return refused or self._accept(chat_id, params, "sendMessage")

    def _fault(self, chat_id: int) -> tuple[int, dict] | None:
        """The next scripted fault, or 403 for a chat that blocked the bot; None: go on."""
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
        if fault and fault[0] == "502 page":  # a gateway's HTML error page
            return 502, "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
        if fault and fault[0] == "slow":
            time.sleep(fault[1])
        if chat_id in self.blocked:
            return 403, {
                "ok": False,
                "error_code": 403,
                "description": "Forbidden: bot was blocked by the user",
            }
        return None

    def api_sendPhoto(self, params):
        chat_id = int(params["chat_id"])
        refused = self._fault(chat_id)
        if refused:
            return refused
        photo = params["photo"]
        record = {"photo": photo.decode() if isinstance(photo, bytes) else photo}
        return self._record_media(chat_id, "sendPhoto", params, record)

    def api_copyMessage(self, params):
        """Copies a pushed message (no link to its sender); `caption` replaces a media caption."""
        chat_id, source = int(params["chat_id"]), (int(params["from_chat_id"]), int(params["message_id"]))
        refused = self._fault(chat_id)
        if refused:
            return refused
        with self.lock:
            original = self.messages.get(source)
        if original is None:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: message not found"}
        kind = next((k for k in ("photo", "document", "sticker") if k in original), "text")
        record = {"from_chat_id": source[0], "source_message_id": source[1], "kind": kind}
        if kind == "text":
            record["text"] = original["text"]
        else:
            record["caption"] = params["caption"] if "caption" in params else original.get("caption")
        status, payload = self._record_media(chat_id, "copyMessage", params, record)
        if status == 200:
            payload["result"] = {"message_id": payload["result"]["message_id"]}
        return status, payload

    def api_forwardMessage(self, params):
        chat_id, source = int(params["chat_id"]), (int(params["from_chat_id"]), int(params["message_id"]))
        refused = self._fault(chat_id)
        if refused:
            return refused
        with self.lock:
            original = self.messages.get(source, {})
        record = {"from_chat_id": source[0], "source_message_id": source[1]}
        record |= {"forward_from": original.get("from")}  # what forwardMessage shows: the sender
        record |= {k: original[k] for k in ("text", "caption") if k in original}
        return self._record_media(chat_id, "forwardMessage", params, record)

    def _record_media(self, chat_id: int, method: str, params: dict, record: dict) -> tuple[int, dict]:
        caption = params.get("caption") or ""
        if len(caption) > 1024:
            return 400, {"ok": False, "error_code": 400, "description": "Bad Request: caption is too long"}
        if params.get("parse_mode") == "HTML":
            try:
                TelegramHTML().feed(caption)
            except ValueError as exc:
                return 400, {"ok": False, "error_code": 400, "description": str(exc)}
        message_id = self._message_id()
        with self.lock:
            self.sent.append(
                {"method": method, "chat_id": chat_id, "message_id": message_id, "at": time.monotonic()}
                | {"reply_markup": params.get("reply_markup")}
                | record
            )
        result = self._message(chat_id, message_id, record.get("text") or "")
        return 200, {"ok": True, "result": result}

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

    def api_editMessageReplyMarkup(self, params):
        chat_id, message_id = int(params["chat_id"]), int(params["message_id"])
        with self.lock:
            known = any(m["chat_id"] == chat_id and m["message_id"] == message_id for m in self.sent)
            if known:
                self.markup_edits.append(params)
        if not known:
            return 400, {
                "ok": False,
                "error_code": 400,
                "description": "Bad Request: message to edit not found",
            }
        return 200, {"ok": True, "result": self._message(chat_id, message_id, "")}

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
