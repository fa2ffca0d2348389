"""``deckgen serve``: build, serve on 127.0.0.1, rebuild on every change, reload the browser in place.

The deck is built into a temporary folder (or ``-o OUT``) and served from
there, so ``build/`` is never touched. A polling thread watches the config file,
the data file, the user's template folder and the built-in templates; after a
change has settled it rebuilds through one :class:`~deckgen.pipeline.Session`, so
a slide-only change skips training, figures and template loading.

The live-reload script is added to HTML responses only, never to the files on
disk: a served page is the built page plus one ``<script>`` before ``</body>``.
The script long-polls ``/__deckgen__/wait``; after a successful rebuild it
reloads the page, and reveal.js's ``hash: true`` URL (``#/5/0/2``) brings it
back to the same slide and fragment. reveal.js updates that URL up to a second
late, so the script also keeps ``Reveal.getIndices()`` in ``sessionStorage``
across the reload and goes back to them (decks that turn ``hash`` off keep
their place too). After a failed rebuild it
shows the error over the deck, which is still the last good one.
"""

from __future__ import annotations

import json
import signal
import mimetypes
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, urlsplit

from deckgen.errors import DeckgenError
from deckgen.pipeline import build
from deckgen.pipeline import load as load_config
from deckgen.resources import default_deck, templates_dir
from deckgen.run.pages import inject, page_templates, resolve
from deckgen.run.session import Session

HOST = "127.0.0.1"
ENDPOINT = "/__deckgen__/"
PORT_TRIES = 20
WAIT_SECONDS = 20.0

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


def _handler(server: "DevServer"):
    class Handler(BaseHTTPRequestHandler):
        server_version = "deckgen"
        protocol_version = "HTTP/1.1"

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


def snapshot(paths: list[Path]) -> dict[str, tuple[int, int]]:
    """``(mtime_ns, size)`` of every file among ``paths`` (folders are searched recursively)."""
    seen: dict[str, tuple[int, int]] = {}
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for f in files:
            try:
                st = f.stat()
            except OSError:
                seen[str(f)] = (-1, -1)
                continue
            seen[str(f)] = (st.st_mtime_ns, st.st_size)
    return seen


class DevServer:
    """Serve a deck and keep it rebuilt. ``start()`` builds, binds and starts the threads."""

    def __init__(self, config_path: Path | None, overrides: tuple[str, ...] | list[str] = (), *,
                 values: dict | None = None, port: int = 8000, out: Path | None = None, force: bool = False, cache=None,
                 echo: Callable[[str], None] = print, echo_error: Callable[[str], None] | None = None,
                 progress=None, poll: float = 0.25,
                 debounce: float = 0.2, wait_seconds: float = WAIT_SECONDS) -> None:
        self.config_path = Path(config_path) if config_path is not None else None
        self.overrides = tuple(overrides)
        self.values = dict(values or {})
        self.port = port
        self.out = Path(out).absolute() if out is not None else None
        self.force = force
        self.cache = cache
        self.echo = echo
        self.echo_error = echo_error or echo
        self.progress = progress
        self.poll = poll
        self.debounce = debounce
        self.wait_seconds = wait_seconds
        self.session = Session()
        self.pages = page_templates()
        self.state = State()
        self.root: Path | None = None
        self.watched: list[Path] = []
        self.seen: dict[str, tuple[int, int]] = {}     # the watched files as the last build found them
        self.last_result = None
        self.builds = 0
        self._tmp: Path | None = None
        self._httpd: _Server | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    # -- building ----------------------------------------------------------------
    def _watch_list(self, config) -> list[Path]:
        paths = [self.config_path or default_deck()]
        if config is not None:
            if config.data.csv is not None:
                paths.append(Path(config.data.csv))
            if config.deck.templates is not None:
                paths.append(Path(config.deck.templates))
        paths.append(templates_dir())
        return list(dict.fromkeys(paths))

    def rebuild(self, *, raise_errors: bool = False) -> bool:
        """Load the config and build; publish the result (or the error) to the browsers.

        With ``raise_errors`` a user's mistake is raised instead (the first build of ``deckgen serve``).
        """
        with self._lock:
            start = time.perf_counter()
            before = snapshot(self.watched or self._watch_list(None))   # an edit during the build is not lost
            config = None
            try:
                config = load_config(self.config_path, list(self.overrides), values=self.values)
                out = self.out or (self._tmp / config.name)
                result = build(config, out, force=self.force, cache=self.cache, session=self.session,
                               progress=self.progress)
            except DeckgenError as exc:
                if raise_errors:
                    raise
                message = "\n".join(exc.messages)
            except Exception:   # a bug, not the user's: keep serving and show it all
                if raise_errors:
                    raise
                message = traceback.format_exc()
            else:
                self.root = result.out
                self.last_result = result
                self.builds += 1
                self.state.publish(None, result.slides)
                self._watched_since(before, self._watch_list(config))
                seconds = time.perf_counter() - start
                how = "trained" if result.trained else "trace reused"
                self.echo(f"Built {result.slides} slides in {seconds:.2f}s ({how}) — {self.url}")
                return True
            self._watched_since(before, self._watch_list(config) if config is not None
                                else (self.watched or self._watch_list(None)))
            self.state.publish(message)
            self.echo_error("deckgen: error: " + message.replace("\n", "\ndeckgen: error: ")
                            + ("\n  (still serving the last good deck)" if self.root else ""))
            return False

    def _watched_since(self, before: dict, paths: list[Path]) -> None:
        """Watch ``paths`` from now on, comparing files already known with how they were ``before``."""
        now = snapshot(paths)
        self.watched = paths
        self.seen = {k: before.get(k, v) for k, v in now.items()}

    def script(self) -> str:
        return self.pages.get_template("reload.html").render(state=self.state.snapshot())

    # -- running -----------------------------------------------------------------
    @property
    def url(self) -> str:
        port = self._httpd.server_address[1] if self._httpd else self.port
        return f"http://{HOST}:{port}/"

    def start(self, *, fail_fast: bool = False, watch: bool = True) -> "DevServer":
        """Bind, build and start serving and (unless ``watch`` is False) watching.

        ``fail_fast``: a first build that fails raises (and nothing is left running);
        otherwise the server starts anyway, shows the error and waits for a fix.
        Without ``watch``, call :meth:`rebuild` yourself (benchmarks, tools).
        """
        self._tmp = Path(tempfile.mkdtemp(prefix="deckgen-serve-"))
        try:
            httpd, taken = bind(self.port)
            httpd.RequestHandlerClass = _handler(self)
            self._httpd = httpd
            if taken:
                self.echo_error(f"deckgen: port {taken[0]} is in use; serving on port {httpd.server_address[1]} instead")
            self.rebuild(raise_errors=fail_fast)
        except BaseException:
            self.stop()
            raise
        self._threads = [threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                          name="deckgen-http", daemon=True)]
        if watch:
            self._threads.append(threading.Thread(target=self._watch, name="deckgen-watch", daemon=True))
        for t in self._threads:
            t.start()
        return self

    def _watch(self) -> None:
        while not self._stop.wait(self.poll):
            seen = self.seen
            now = snapshot(self.watched)
            if now == seen:
                continue
            while not self._stop.wait(self.debounce):   # let a burst of saves settle
                settled = snapshot(self.watched)
                if settled == now:
                    break
                now = settled
            if self._stop.is_set():
                return
            changed = sorted(k for k in set(now) | set(seen) if now.get(k) != seen.get(k))
            self.echo(f"Changed: {', '.join(Path(c).name for c in changed[:3])}"
                      + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
            self.rebuild()

    def stop(self) -> None:
        self._stop.set()
        self.state.close()
        if self._httpd is not None:
            if any(t.name == "deckgen-http" and t.is_alive() for t in self._threads):
                self._httpd.shutdown()     # waits for serve_forever, so only when it runs
            self._httpd.server_close()
        for t in self._threads:
            t.join(timeout=5)
        self.session.close()        # a run still being stored in the cache is finished first
        if self._tmp is not None:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def serve_forever(self) -> None:
        """Block until Ctrl-C (or SIGTERM), then stop and remove the temporary deck."""
        previous = None
        if threading.current_thread() is threading.main_thread():
            previous = signal.signal(signal.SIGTERM, lambda signum, frame: self._stop.set())
        try:
            while not self._stop.wait(0.5):
                pass
        except KeyboardInterrupt:
            pass
        finally:
            if previous is not None:
                signal.signal(signal.SIGTERM, previous)
            self.stop()

    def __enter__(self) -> "DevServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
