"""The HTTP side of ``deckgen serve``: who may ask (loopback names only), what they get, and the port.

Only requests addressed to this machine by name (``Host: 127.0.0.1:PORT``,
``localhost:PORT`` or ``[::1]:PORT``) get an answer: a web page that points
another name at 127.0.0.1 (DNS rebinding) gets a 421 and no deck. Client
sockets time out, so connections that never finish a request do not hold a
thread forever.
"""

from __future__ import annotations

import json
import mimetypes
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from deckgen.errors import DeckgenError
from deckgen.run.pages import inject, resolve

HOST = "127.0.0.1"
ENDPOINT = "/__deckgen__/"
PORT_TRIES = 20
#: Seconds a client socket may stay silent (reading a request, or idle between two) before it is closed.
SOCKET_TIMEOUT = 10.0
#: The names a request may address the server by; a port follows each.
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")


@dataclass
class State:
    """What the browser is told: the build ``version`` (bumped by every rebuild) and the last error."""

    version: int = 0
    error: str | None = None
    slides: int = 0
    closed: bool = False
    changed: threading.Condition = field(default_factory=threading.Condition)

    def publish(self, error: str | None, slides: int = 0) -> None:
        with self.changed:
            self.version += 1
            self.error = error
            if error is None:
                self.slides = slides
            self.changed.notify_all()

    def close(self) -> None:
        """Release every waiting request (the server is stopping)."""
        with self.changed:
            self.closed = True
            self.changed.notify_all()

    def snapshot(self) -> dict:
        return {"version": self.version, "error": self.error}

    def wait(self, version: int, timeout: float) -> dict:
        with self.changed:
            self.changed.wait_for(lambda: self.version != version or self.closed, timeout=timeout)
            return self.snapshot()


def allowed_hosts(port: int) -> frozenset[str]:
    """The ``Host`` header values a request to the server on ``port`` may carry (lower case)."""
    hosts = {f"{name}:{port}" for name in LOCAL_NAMES}
    if port == 80:       # a browser leaves out the default port
        hosts |= set(LOCAL_NAMES)
    return frozenset(hosts)


def handler(server):
    hosts = allowed_hosts(server._httpd.server_address[1])

    class Handler(BaseHTTPRequestHandler):
        server_version = "deckgen"
        protocol_version = "HTTP/1.1"
        timeout = server.socket_timeout     # StreamRequestHandler puts it on the client socket

        def log_message(self, format, *args):  # noqa: A002 - the stdlib's name
            pass

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            try:
                self.send_response(status)
                self.send_header("Content-Type", content_type)
                self.send_header("Content-Length", str(len(body)))
                self.send_header("Cache-Control", "no-store")
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):   # the tab went away (a reload, a close)
                self.close_connection = True

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            given = self.headers.get_all("Host") or []
            if len(given) != 1 or given[0].strip().lower() not in hosts:
                self.close_connection = True
                return self._send(421, f"deckgen serves this deck only at {server.url}\n".encode(),
                                  "text/plain; charset=utf-8")
            url = urlsplit(self.path)
            if url.path.startswith(ENDPOINT):
                return self._endpoint(url)
            root = server.root
            if root is None:     # the first build failed: a page that waits for a good one
                if url.path in ("/", "/index.html"):
                    page = server.pages.get_template("placeholder.html").render().encode("utf-8")
                    return self._send(200, inject(page, server.script()), "text/html; charset=utf-8")
                return self._send(404, b"not found\n", "text/plain; charset=utf-8")
            try:
                target = resolve(root, self.path)
                body = target.read_bytes() if target is not None else None
            except (OSError, UnicodeDecodeError, ValueError):
                body = None
            if body is None:
                if url.path == "/favicon.ico":      # asked for by every browser; a deck has none
                    return self._send(204, b"", "image/x-icon")
                return self._send(404, b"not found\n", "text/plain; charset=utf-8")
            kind = mimetypes.guess_type(target.name)[0] or "application/octet-stream"
            if target.suffix == ".html":
                body = inject(body, server.script())
                kind = "text/html; charset=utf-8"
            elif kind.startswith("text/") or kind in ("application/javascript", "image/svg+xml"):
                kind += "; charset=utf-8"
            self._send(200, body, kind)

        def _endpoint(self, url):
            if url.path == ENDPOINT + "wait":
                try:
                    version = int(parse_qs(url.query).get("version", ["-1"])[0])
                except ValueError:
                    version = -1
                state = server.state.wait(version, server.wait_seconds)
                return self._send(200, json.dumps(state).encode(), "application/json")
            if url.path == ENDPOINT + "state":
                return self._send(200, json.dumps(server.state.snapshot()).encode(), "application/json")
            self._send(404, b"not found\n", "text/plain; charset=utf-8")

    return Handler


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = False


def bind(port: int, host: str = HOST, tries: int = PORT_TRIES) -> tuple[_Server, list[int]]:
    """A server on ``port``, or the next free one; also the ports found taken."""
    taken = []
    candidates = [0] if port == 0 else range(port, min(port + tries, 65536))
    for candidate in candidates:
        try:
            return _Server((host, candidate), BaseHTTPRequestHandler), taken
        except OSError:
            taken.append(candidate)
    raise DeckgenError(f"ports {port} to {port + tries - 1} on {host} are all in use — pick another with --port")
