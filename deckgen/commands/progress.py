"""Progress bars for the long steps of a build (training, what-if variants), drawn by rich.

``bars(label)`` returns ``update(done, total)``, the interface :func:`deckgen.pipeline.build`
takes as ``progress``. A task is shown only once it has run for ``delay`` seconds, so a
short run stays silent; tasks running at once (variants training in parallel) get one bar
each, with the time left. The bars are cleared when every shown task is done.

Nothing is drawn, and rich is not even imported, unless the stream is a terminal: a cold
build that never shows a bar does not pay for loading it.
"""

from __future__ import annotations

import itertools
import sys
import threading
import time

#: Seconds a task runs before its bar appears.
DELAY = 1.0


class TerminalProgress:
    """Progress bars on ``stream`` (standard error by default), only when it is a terminal.

    ``enabled=False`` draws nothing (``--quiet``); ``None`` draws when the stream is a terminal.
    """

    def __init__(self, stream=None, *, enabled: bool | None = None, delay: float | None = None) -> None:
        self.stream = stream if stream is not None else sys.stderr
        if enabled is None:
            isatty = getattr(self.stream, "isatty", None)
            enabled = bool(isatty is not None and isatty())
        self.enabled = enabled
        self.delay = DELAY if delay is None else delay
        self._lock = threading.Lock()
        self._ids = itertools.count()
        self._bars = None                     # a rich Progress while bars are drawn
        self._shown: dict[int, object] = {}   # task number -> rich task id
        self._finished: set[int] = set()

    def __call__(self, label: str):
        number, start = next(self._ids), time.monotonic()

        def update(done: int, total: int) -> None:
            if self.enabled:
                with self._lock:
                    self._update(number, label, start, done, total)
        return update

    def _update(self, number: int, label: str, start: float, done: int, total: int) -> None:
        finished = bool(total) and done >= total
        task = self._shown.get(number)
        if task is None:
            if finished or not total or time.monotonic() - start < self.delay:
                return
            if self._bars is None:
                self._bars = self._start()
            self._shown[number] = self._bars.add_task(label, total=total, completed=done)
        else:
            self._bars.update(task, total=total, completed=done)
        if finished:
            self._finished.add(number)
            if self._shown.keys() <= self._finished:
                self._stop()

    def _start(self):
        from rich.console import Console   # only when a bar is really drawn: cold and piped builds skip rich
        from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeRemainingColumn

        bars = Progress(TextColumn("{task.description}"), BarColumn(), TaskProgressColumn(),
                        TimeRemainingColumn(), TextColumn("left"),
                        console=Console(file=self.stream), transient=True,
                        redirect_stdout=False, redirect_stderr=False)
        bars.start()
        return bars

    def _stop(self) -> None:
        if self._bars is not None:
            self._bars.stop()
        self._bars = None
        self._shown.clear()
        self._finished.clear()

    def close(self) -> None:
        """Clear the bars (before an error message, or at the end); later tasks draw afresh."""
        with self._lock:
            self._stop()
