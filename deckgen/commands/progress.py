"""Progress bars on the terminal while training runs (the main run and any what-if variants)."""

from __future__ import annotations

import shutil
import sys
import threading
import time


class ProgressBars:
    """Progress bars with an estimate of the time left, on one terminal line.

    ``bars(label)`` returns ``update(done, total)``. A task shows only once it
    has run for ``delay`` seconds (short training stays silent); several tasks
    (comparison variants training in parallel) share the line. Nothing is drawn
    when the stream is not a terminal, unless ``enabled`` says so.
    """

    def __init__(self, stream=None, *, enabled: bool | None = None, delay: float = 1.0, interval: float = 0.1,
                 clock=time.monotonic, width: int | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = (hasattr(self.stream, "isatty") and self.stream.isatty()) if enabled is None else enabled
        self.delay, self.interval, self.clock, self.width = delay, interval, clock, width
        self.tasks: dict[str, list] = {}        # label -> [start, done, total]
        self.lock = threading.Lock()
        self.drawn = 0.0
        self.shown = False

    def __call__(self, label: str):
        with self.lock:
            self.tasks[label] = [self.clock(), 0, 0]

        def update(done: int, total: int) -> None:
            with self.lock:
                task = self.tasks.get(label)
                if task is None:
                    return
                task[1], task[2] = done, total
                if total and done >= total:
                    del self.tasks[label]
                self._draw(force=total > 0 and done >= total)
        return update

    @staticmethod
    def _duration(seconds: float) -> str:
        seconds = int(round(seconds))
        return f"{seconds // 60}m{seconds % 60:02d}s" if seconds >= 60 else f"{seconds}s"

    def line(self) -> str:
        """The text of the progress line as it stands."""
        now = self.clock()
        shown = []
        for label, (start, done, total) in self.tasks.items():
            elapsed = now - start
            if elapsed < self.delay or not total:
                continue
            frac = min(done / total, 1.0)
            eta = self._duration(elapsed * (total - done) / done) if done else "?"
            shown.append((label, frac, eta))
        if len(shown) == 1:
            label, frac, eta = shown[0]
            filled = int(frac * 20)
            return f"{label} [{'#' * filled}{'.' * (20 - filled)}] {frac:4.0%} {eta} left"
        # several at once (variants training in parallel): short labels, one bar each
        return " | ".join(f"{label.split(':')[0]} [{'#' * int(frac * 10)}{'.' * (10 - int(frac * 10))}] "
                          f"{frac:.0%} {eta}" for label, frac, eta in shown)

    def _draw(self, force: bool = False) -> None:
        if not self.enabled:
            return
        now = self.clock()
        if not force and now - self.drawn < self.interval:
            return
        self.drawn = now
        text = self.line()
        width = self.width or shutil.get_terminal_size((100, 20)).columns
        if len(text) > width - 1:
            text = text[: width - 2] + "…"
        if text or self.shown:
            self.stream.write("\r" + text + "\x1b[K")
            self.stream.flush()
            self.shown = bool(text)

    def close(self) -> None:
        with self.lock:
            self.tasks.clear()
            if self.enabled and self.shown:
                self.stream.write("\r\x1b[K")
                self.stream.flush()
                self.shown = False
