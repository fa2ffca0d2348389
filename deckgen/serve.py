"""``deckgen serve``: build, serve on 127.0.0.1, rebuild on every change, reload the browser in place.

The deck is built into a temporary folder (or ``-o OUT``) and served from
there, so ``build/`` is never touched. watchfiles (the operating system's file
notifications) watches the config file, the data file, the user's template folder
and the built-in templates; after a burst of changes has settled it rebuilds
through one :class:`~deckgen.build.Session`, so a slide-only change skips
training, figures and template loading. A file is watched through its folder,
so an editor that saves by writing a new file and renaming it over the old one
is seen too.

Only requests addressed to this machine by name (``Host: 127.0.0.1:PORT``,
``localhost:PORT`` or ``[::1]:PORT``) get an answer: a web page that points
another name at 127.0.0.1 (DNS rebinding) gets a 421 and no deck. Client
sockets time out, so connections that never finish a request do not hold a
thread forever.

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
import mimetypes
import os
import queue
import shutil
import tempfile
import threading
import time
import traceback
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Callable
from urllib.parse import parse_qs, unquote, urlsplit

from .errors import DeckgenError

HOST = "127.0.0.1"
ENDPOINT = "/__deckgen__/"
PORT_TRIES = 20
WAIT_SECONDS = 20.0
#: Seconds a client socket may stay silent (reading a request, or idle between two) before it is closed.
SOCKET_TIMEOUT = 10.0
#: The names a request may address the server by; a port follows each.
LOCAL_NAMES = ("127.0.0.1", "localhost", "[::1]")

def _page_templates():
    """The templates of the pages only ``serve`` sends: the reload script and the no-deck-yet page."""
    from jinja2 import Environment, FileSystemLoader, StrictUndefined

    from .resources import templates_dir

    return Environment(loader=FileSystemLoader(str(templates_dir() / "serve")), autoescape=True,
                       undefined=StrictUndefined, keep_trailing_newline=True)


def inject(html: bytes, script: str) -> bytes:
    """``html`` with ``script`` just before its last ``</body>`` (or at the end)."""
    data = script.encode("utf-8")
    lower = html.lower()
    at = lower.rfind(b"</body>")
    if at < 0:
        return html + data
    return html[:at] + data + html[at:]


def resolve(root: Path, raw: str) -> Path | None:
    """The file a request path names inside ``root``, or None (missing, hidden, or outside it).

    Each segment is percent-decoded once; ``..``, ``.``, dot-files and segments
    that decode to a slash, backslash or NUL are refused, and the result must
    still lie inside ``root`` after symlinks are resolved.
    """
    path = urlsplit(raw).path
    if not path.startswith("/"):
        return None
    parts = []
    for segment in path.split("/")[1:]:
        if segment == "":
            continue
        name = unquote(segment, errors="strict") if "%" in segment else segment
        if name.startswith(".") or any(c in name for c in "/\\\0"):
            return None
        parts.append(name)
    candidate = root.joinpath(*parts)
    if candidate.is_dir():
        candidate = candidate / "index.html"
    real_root = os.path.realpath(root)
    real = os.path.realpath(candidate)
    if os.path.commonpath([real_root, real]) != real_root or not os.path.isfile(real):
        return None
    return Path(real)


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


def _handler(server: "DevServer"):
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


class _StopWhen:
    """watchfiles' ``stop_event``: reads as set once any of ``events`` is.

    watchfiles first asks only once its watches are in place, which sets ``ready``.
    """

    def __init__(self, *events: threading.Event) -> None:
        self.events = events
        self.ready = threading.Event()

    def is_set(self) -> bool:
        self.ready.set()
        return any(e.is_set() for e in self.events)


def watch_plan(paths: list[Path]) -> tuple[frozenset[str], list[str], list[str]]:
    """How to watch ``paths``: the files to report, their folders, and the folders watched with all they hold.

    A file is watched through its folder (that folder alone, not what lies below it), so an
    editor's save by rename is seen, and a file that is missing now is seen when it appears.
    A file inside a folder watched whole needs no watch of its own.
    """
    folders = [os.path.abspath(p) for p in paths if p.is_dir()]
    files = frozenset(f for f in (os.path.abspath(p) for p in paths if not p.is_dir())
                      if not any(os.path.commonpath([f, d]) == d for d in folders))
    parents = sorted({os.path.dirname(f) for f in files if os.path.isdir(os.path.dirname(f))})
    return files, parents, sorted(set(folders))


class DevServer:
    """Serve a deck and keep it rebuilt. ``start()`` builds, binds and starts the threads."""

    def __init__(self, config_path: Path | None, overrides: tuple[str, ...] | list[str] = (), *,
                 port: int = 8000, out: Path | None = None, force: bool = False, cache=None,
                 echo: Callable[[str], None] = print, echo_error: Callable[[str], None] | None = None,
                 progress=None, debounce: float = 0.05, wait_seconds: float = WAIT_SECONDS,
                 socket_timeout: float = SOCKET_TIMEOUT) -> None:
        from .build import Session

        self.config_path = Path(config_path) if config_path is not None else None
        self.overrides = tuple(overrides)
        self.port = port
        self.out = Path(out).absolute() if out is not None else None
        self.force = force
        self.cache = cache
        self.echo = echo
        self.echo_error = echo_error or echo
        self.progress = progress
        self.debounce = debounce            # a burst of changes has settled after this long without one
        self.wait_seconds = wait_seconds
        self.socket_timeout = socket_timeout
        self.session = Session()
        self.pages = _page_templates()
        self.state = State()
        self.root: Path | None = None
        self.watched: list[Path] = []
        self.last_result = None
        self.builds = 0
        self._tmp: Path | None = None
        self._httpd: _Server | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._changes: queue.Queue = queue.Queue()   # batches of changes seen by the watchers; None: stop

    # -- building ----------------------------------------------------------------
    def _watch_list(self, config) -> list[Path]:
        from .resources import default_deck, templates_dir

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
        from .build import build
        from .config import load_config

        with self._lock:
            start = time.perf_counter()
            config = None
            try:
                config = load_config(self.config_path, list(self.overrides))
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
                self.watched = self._watch_list(config)
                seconds = time.perf_counter() - start
                how = "trained" if result.trained else "trace reused"
                self.echo(f"Built {result.slides} slides in {seconds:.2f}s ({how}) — {self.url}")
                return True
            self.watched = (self._watch_list(config) if config is not None
                            else (self.watched or self._watch_list(None)))
            self.state.publish(message)
            self.echo_error("deckgen: error: " + message.replace("\n", "\ndeckgen: error: ")
                            + ("\n  (still serving the last good deck)" if self.root else ""))
            return False

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
        watching = stop_watchers = None
        try:
            httpd, taken = bind(self.port)
            self._httpd = httpd
            httpd.RequestHandlerClass = _handler(self)
            if taken:
                self.echo_error(f"deckgen: port {taken[0]} is in use; serving on port {httpd.server_address[1]} instead")
            if watch:     # before the first build, so that an edit made while it runs is not lost
                watching = self._watch_list(self._config_or_none())
                stop_watchers = self._start_watchers(watching)
            self.rebuild(raise_errors=fail_fast)
        except BaseException:
            self.stop()
            raise
        threads = [threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.2},
                                    name="deckgen-http", daemon=True)]
        if watch:
            threads.append(threading.Thread(target=self._watch, args=(watching, stop_watchers),
                                            name="deckgen-watch", daemon=True))
        for t in threads:
            t.start()
        self._threads.extend(threads)
        return self

    def _config_or_none(self):
        """The config as it stands, or None when it does not load (the build then says why)."""
        from .config import load_config

        try:
            return load_config(self.config_path, list(self.overrides))
        except Exception:
            return None

    def _watch(self, watching: list[Path], stop_watchers: threading.Event) -> None:
        """Rebuild after each settled burst of changes the watchers report, until the server stops.

        ``watching``: the paths the watchers started by :meth:`start` watch; set ``stop_watchers`` to stop them.
        """
        try:
            while not self._stop.is_set():
                if self.watched != watching:      # a rebuild changed what to watch
                    previous = stop_watchers
                    watching, stop_watchers = list(self.watched), self._start_watchers(self.watched)
                    if previous is not None:      # the new watchers run already: nothing is missed
                        previous.set()
                changes = self._changes.get()
                while changes is not None and not self._changes.empty():
                    more = self._changes.get()
                    changes = None if more is None else changes | more
                if changes is None or self._stop.is_set():
                    return
                changed = sorted({path for _, path in changes})
                self.echo(f"Changed: {', '.join(Path(c).name for c in changed[:3])}"
                          + (f" and {len(changed) - 3} more" if len(changed) > 3 else ""))
                self.rebuild()
        finally:
            if stop_watchers is not None:
                stop_watchers.set()

    def _start_watchers(self, paths: list[Path]) -> threading.Event:
        """Start watchfiles on ``paths``, reporting to ``self._changes``; set the event returned to stop it."""
        from watchfiles import DefaultFilter, watch

        done = threading.Event()
        files, parents, folders = watch_plan(paths)

        def run(where: list[str], recursive: bool, keep, stop: _StopWhen) -> None:
            try:
                for changes in watch(*where, watch_filter=keep, recursive=recursive, stop_event=stop,
                                     step=max(1, int(self.debounce * 1000)), raise_interrupt=False):
                    self._changes.put(changes)
            except Exception as exc:   # a watched folder removed, too many watches: say so, keep serving
                if not stop.is_set():
                    self.echo_error(f"deckgen: warning: {', '.join(where)}: no longer watched ({exc}) — "
                                    "restart deckgen serve to watch it again")
            finally:
                stop.ready.set()

        groups = [(parents, False, lambda change, path: os.path.abspath(path) in files),
                  (folders, True, DefaultFilter())]
        started = []
        for where, recursive, keep in groups:
            if where:
                stop = _StopWhen(self._stop, done)
                thread = threading.Thread(target=run, args=(where, recursive, keep, stop), daemon=True,
                                          name="deckgen-watch-" + ("folders" if recursive else "files"))
                thread.start()
                self._threads.append(thread)
                started.append(stop.ready)
        for ready in started:     # watching once this returns: a change made after it is seen
            ready.wait(timeout=10)
        return done

    def stop(self) -> None:
        self._stop.set()
        self._changes.put(None)
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
        import signal

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
