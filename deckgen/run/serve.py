"""``deckgen serve``: build, serve on 127.0.0.1, rebuild on every change, reload the browser in place.

The deck is built into a temporary folder (or ``-o OUT``) and served from
there, so ``build/`` is never touched. watchfiles (the operating system's file
notifications) watches the config file, the data file, the user's template folder
and the built-in templates; after a burst of changes has settled it rebuilds
through one :class:`~deckgen.run.session.Session`, so a slide-only change skips
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

import os
import queue
import signal
import shutil
import tempfile
import threading
import time
import traceback
from http.server import ThreadingHTTPServer
from pathlib import Path
from typing import Callable

from deckgen.errors import DeckgenError, one_line
from deckgen.pipeline import build
from deckgen.pipeline import load as load_config
from deckgen.resources import default_deck, templates_dir
from deckgen.run.http import HOST, SOCKET_TIMEOUT, State, bind, handler
from deckgen.run.pages import page_templates
from deckgen.run.session import Session

WAIT_SECONDS = 20.0

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
                 values: dict | None = None, port: int = 8000, out: Path | None = None, force: bool = False, cache=None,
                 echo: Callable[[str], None] = print, echo_error: Callable[[str], None] | None = None,
                 progress=None, debounce: float = 0.05, wait_seconds: float = WAIT_SECONDS,
                 socket_timeout: float = SOCKET_TIMEOUT) -> None:
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
        self.debounce = debounce            # a burst of changes has settled after this long without one
        self.wait_seconds = wait_seconds
        self.socket_timeout = socket_timeout
        self.session = Session()
        self.pages = page_templates()
        self.state = State()
        self.root: Path | None = None
        self.watched: list[Path] = []
        self.last_result = None
        self.builds = 0
        self._tmp: Path | None = None
        self._httpd: ThreadingHTTPServer | None = None
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._changes: queue.Queue = queue.Queue()   # batches of changes seen by the watchers; None: stop

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
            config = None
            try:
                config = load_config(self.config_path, list(self.overrides), values=self.values)
                out = self.out or (self._tmp / config.name)
                result = build(config, out, force=self.force, cache=self.cache, session=self.session,
                               progress=self.progress)
            except DeckgenError as exc:
                if raise_errors:
                    raise
                message = "\n".join(one_line(m) for m in exc.messages)
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
            httpd.RequestHandlerClass = handler(self)
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
        try:
            return load_config(self.config_path, list(self.overrides), values=self.values)
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
        from watchfiles import DefaultFilter, watch   # only serve watches: a build need not load it

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
