"""Serving the explorer page on this computer only, with a box for a new sentence.

`make_server(page, compute, port)` answers on 127.0.0.1 (never on the network) with exactly two
things, using nothing but the standard library's http.server:

* `GET /` (or `/index.html`): the page;
* `POST /api/explore` with JSON `{"sentence": "..."}`: `compute(sentence)` runs the Python
  engine on it and the answer is JSON `{"ok": true, "sentence", "main", "data"}`, which the
  page's script puts in place of the stages it shows.

Anything else gets 404. A request body larger than `MAX_BODY` bytes is refused (413) before
it is read. A bad sentence is answered with `{"ok": false, "error": "one line"}` (400),
which the page shows; a failure inside `compute` too (500), never a traceback, and the
server goes on serving. Requests that do not name this server as their host (a web page
elsewhere trying to reach it through a renamed address) are refused (403).
"""

import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

__all__ = ["make_server", "serve", "url_of", "MAX_BODY", "ENDPOINT"]

HOST = "127.0.0.1"
ENDPOINT = "/api/explore"
MAX_BODY = 4096  # bytes: a sentence of a few dozen words fits many times over


class _Handler(BaseHTTPRequestHandler):
    server_version = "tinygrad-attn-explorer"
    timeout = 20  # seconds a client may take to send its request

    # ------------------------------------------------------------------ answering

    def _send(self, status, body, content_type):
        data = body.encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    def _json(self, status, payload):
        self._send(status, json.dumps(payload, allow_nan=False), "application/json; charset=utf-8")

    def _error(self, status, message):
        self._json(status, {"ok": False, "error": message})

    def _host_is_ours(self):
        host = (self.headers.get("Host") or "").strip().lower()
        port = self.server.server_address[1]
        return host in (f"127.0.0.1:{port}", f"localhost:{port}")

    # ------------------------------------------------------------------ the two routes

    def do_GET(self):  # noqa: N802 (http.server's naming)
        if not self._host_is_ours():
            return self._error(403, "this server answers only to 127.0.0.1 and localhost")
        if urlsplit(self.path).path not in ("/", "/index.html"):
            return self._error(
                404, f"nothing here: the page is at / and the computing at {ENDPOINT}"
            )
        self._send(200, self.server.page, "text/html; charset=utf-8")

    do_HEAD = do_GET

    def do_POST(self):  # noqa: N802
        if not self._host_is_ours():
            return self._error(403, "this server answers only to 127.0.0.1 and localhost")
        if urlsplit(self.path).path != ENDPOINT:
            return self._error(404, f"nothing to post here; send sentences to {ENDPOINT}")
        length = self.headers.get("Content-Length")
        if length is None or not length.isdigit():
            return self._error(411, "say how long the request is (Content-Length)")
        if int(length) > MAX_BODY:
            self.close_connection = True  # the body is not read: do not reuse the connection
            return self._error(413, f"the request is {length} bytes; at most {MAX_BODY} are read")
        try:
            request = json.loads(self.rfile.read(int(length)).decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            return self._error(400, 'send JSON like {"sentence": "I play with a cat"}')
        sentence = request.get("sentence") if isinstance(request, dict) else None
        if not isinstance(sentence, str):
            return self._error(400, 'send JSON like {"sentence": "I play with a cat"}')
        try:
            answer = self.server.compute(sentence)
        except ValueError as error:  # the sentence cannot be drawn: say why
            return self._error(400, str(error).splitlines()[0])
        except Exception as error:  # a failure of ours: one line here and in the page
            message = f"{type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}"
            print(f"explore: computing {sentence!r} failed: {message}", file=sys.stderr)
            return self._error(500, f"the computation failed ({message})")
        self._json(200, {"ok": True, **answer})

    def log_message(self, format, *args):  # one short line per request, on stderr
        if not self.server.quiet:
            sys.stderr.write(f"{self.address_string()} {format % args}\n")


def make_server(page, compute, port, quiet=False):
    """An HTTP server on 127.0.0.1:`port`, not yet serving (call `.serve_forever()`).
    `compute(sentence)` returns a dict to send back (see the module docstring) or raises
    ValueError with a message for the reader. Port 0 picks a free port
    (`server.server_address[1]`). Raises OSError if the port is taken or not allowed."""
    server = ThreadingHTTPServer((HOST, port), _Handler)
    server.daemon_threads = True
    server.page, server.compute, server.quiet = page, compute, quiet
    return server


def serve(server, echo=print):
    """Serve with a server from `make_server` until interrupted (Ctrl+C)."""
    echo(f"Serving the explorer at {url_of(server)} (only on this computer); Ctrl+C stops it.")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        echo("stopped")
    finally:
        server.server_close()


def url_of(server):
    """The address to open in a browser."""
    return f"http://{HOST}:{server.server_address[1]}/"
