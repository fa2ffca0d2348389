"""What a long-lived process (``deckgen serve``) keeps between builds."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Callable


@dataclass
class Session:
    """What a long-lived process keeps between builds: the last traces, figures and templates.

    Everything is keyed by what it depends on, and only what the last build
    used is kept, so memory stays bounded by one build. Work that need not
    hold up a build (storing a new run in the trace cache) runs on one
    background thread; :meth:`close` waits for it.
    """

    traces: dict[str, tuple] = field(default_factory=dict)      # cache key -> (trace, by_budget)
    figures: dict[str, tuple] = field(default_factory=dict)     # figure -> (what it read, digest, SVG bytes)
    envs: dict[tuple, object] = field(default_factory=dict)     # template folders -> Jinja2 environment
    used: set = field(default_factory=set)
    _background: object = None

    def start(self) -> None:
        self.used = set()

    def finish(self) -> None:
        """Forget what the build that just ended did not use."""
        for memo in (self.traces, self.figures):
            for key in [k for k in memo if k not in self.used]:
                del memo[key]

    def defer(self, fn: Callable[[], object]) -> None:
        """Run ``fn`` after the build, on the session's background thread (errors are dropped)."""
        if self._background is None:
            self._background = ThreadPoolExecutor(max_workers=1, thread_name_prefix="deckgen-session")
        self._background.submit(fn)

    def close(self) -> None:
        """Wait for background work (so a stored run is complete) and stop the thread."""
        if self._background is not None:
            self._background.shutdown(wait=True)
            self._background = None
