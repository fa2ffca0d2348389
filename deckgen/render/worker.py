"""A second process that imports matplotlib and draws the figures while the first one trains."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from deckgen.core.trace import load_trace


class FigureWorker:
    """A second process that loads matplotlib while this one trains, then draws the deck's figures.

    A cold build spends about a third of its time importing matplotlib and
    drawing; on a machine with more than one core that work overlaps training
    and the rest of the rendering. The worker gets a small copy of the trace
    (the iterations the figures name, and the error series). Anything that goes
    wrong is reported back, and the figures are then drawn here instead.
    """

    def __init__(self) -> None:
        env = dict(os.environ)
        root = str(Path(__file__).resolve().parents[2])   # a checkout that is not installed works too
        env["PYTHONPATH"] = root + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        self.proc = subprocess.Popen(
            [sys.executable, "-c", "import sys; from deckgen.render.worker import figure_worker_main; "
                                   "sys.exit(figure_worker_main())"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env)
        self.sent = False

    @staticmethod
    def wanted() -> bool:
        return (os.cpu_count() or 1) > 1 and os.environ.get("DECKGEN_FIGURE_WORKER", "1") != "0"

    def send(self, trace, specs, folder: Path, scratch: Path) -> bool:
        """Hand the figures over; False when they cannot go (then draw them here)."""
        try:
            named = sorted({int(v) for spec in specs for k, v in spec.items() if k == "t"}
                           | {int(t) for spec in specs for t in spec.get("checkpoints", ())})
            small = trace.subset([t for t in named if t in trace.kept]) if trace.stopped_at is None else trace
            small.save(scratch)
            job = json.dumps({"trace": str(scratch), "specs": list(specs), "out": str(folder)},
                             default=lambda o: o.item() if hasattr(o, "item") else str(o))
            self.proc.stdin.write(job + "\n")
            self.proc.stdin.close()
            self.proc.stdin = None
        except Exception:
            self.close()
            return False
        self.sent = True
        return True

    def wait(self) -> bool:
        """True when the worker drew every figure."""
        try:
            out, _ = self.proc.communicate(timeout=300)
            answer = out.strip().splitlines()
            return self.proc.returncode == 0 and bool(answer) and answer[-1] == "ok"
        except Exception:
            return False
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        for stream in (self.proc.stdin, self.proc.stdout):
            if stream is not None:
                stream.close()


def figure_worker_main() -> int:
    """The figure worker's side: import, wait for one job, draw, answer ``ok``."""
    from deckgen.render.figures import draw_figures   # matplotlib: imported in this process only

    line = sys.stdin.readline()
    if not line:
        return 0
    job = json.loads(line)
    draw_figures(load_trace(job["trace"]), job["specs"], Path(job["out"]))
    print("ok", flush=True)
    return 0
