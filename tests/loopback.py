"""What the loopback test servers share: a threaded HTTP server on 127.0.0.1, used as a
context manager (`with Server(...) as server:`), that does not print clients hanging up."""

import sys
import threading
from http.server import ThreadingHTTPServer


class QuietServer(ThreadingHTTPServer):
    """Does not print clients hanging up (killed senders, timeouts)."""

    daemon_threads = True

    def handle_error(self, request, client_address):
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class LoopbackServer:
    """Serves `handler_class` on a free loopback port (or `port`) in a background thread."""

    def __init__(self, handler_class, port: int = 0):
        self.httpd = QuietServer(("127.0.0.1", port), handler_class)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()
