"""The trace cache: train once per training setup, however often the slides change.

An entry is keyed by everything that affects the numbers a run produces: the
data the network actually sees (the bytes of ``X`` and ``y``), the resolved
layer sizes, the ``network`` and ``training`` settings, deckgen's version and
the source of the training code. Presentation settings (title, precision,
theme, templates, shown rows, checkpoints and explained iterations) are not in
the key, so changing them reuses the cached run.

What a run *keeps* does depend on ``deck.explain`` and ``deck.checkpoints`` when
not every iteration fits the memory budget. A cached trace is therefore only
reused when it holds every iteration the new config needs, and it is cut down
to exactly what a fresh run would keep, so a deck never depends on what the
cache happened to hold (see :func:`fit_to`).

Entries live in the platform's cache folder as platformdirs gives it, plus
``traces``: ``$XDG_CACHE_HOME/deckgen/traces`` (``~/.cache/deckgen/traces`` when
unset) on Linux, ``~/Library/Caches/deckgen/traces`` on macOS,
``%LOCALAPPDATA%\\deckgen\\Cache\\traces`` on Windows. ``DECKGEN_CACHE_DIR``
overrides it. There is one folder per key with the
trace files and an ``entry.json`` holding their SHA-256 sums. An entry whose
files do not match their sums is removed and retrained, never trusted. The
cache is kept under a size limit (``DECKGEN_CACHE_SIZE_MB``, default 1024) by
evicting the least recently used entries.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import tempfile
import time
import zipfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np

from deckgen import __version__
from deckgen.core.kept import wanted
from deckgen.core.trace import FILES, load_trace
from deckgen.run.cachedir import default_dir, default_limit

FORMAT = 1
ENTRY = "entry.json"
#: The folder of compiled templates inside the cache, and the files Jinja2 writes there.
COMPILED = "templates"
_COMPILED_FILE = re.compile(r"__jinja2_[0-9a-f]+\.cache")
#: An entry's folder is ``KEY[:2]/KEY`` with KEY a SHA-256 hex digest; nothing else in the folder is ours.
_KEY = re.compile(r"[0-9a-f]{64}")
#: Leftovers of an interrupted write: ``.put-*`` staging folders and ``.old-*`` replaced entries.
_SCRATCH = re.compile(r"\.(put|old)-[^/]+")


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 of the training code, so an edited ``train.py`` never reuses old runs."""
    core = Path(__file__).resolve().parent.parent / "core"
    h = hashlib.sha256()
    for name in sorted(p.name for p in core.glob("*.py")):
        path = core / name
        h.update(name.encode() + b"\0" + (path.read_bytes() if path.is_file() else b"") + b"\0")
    return h.hexdigest()


def _array_digest(a: np.ndarray) -> dict:
    a = np.ascontiguousarray(a, dtype=np.float64)
    return {"shape": list(a.shape), "sha256": hashlib.sha256(a.tobytes()).hexdigest()}


def training_key(config, dataset, layers) -> str:
    """The cache key of a run: a hex digest of everything that affects its numbers."""
    spec = config.training_key()
    spec.pop("data", None)        # replaced by the data itself: the same X and y hit the same entry
    spec["network"]["layers"] = [int(n) for n in layers]   # "auto" resolved
    material = {"format": FORMAT, "deckgen": __version__, "code": code_digest(), **spec,
                "X": _array_digest(dataset.X), "y": _array_digest(dataset.y)}
    if dataset.n_test:            # the held-out rows are evaluated into the trace, so they are part of the key
        material.update(Xtest=_array_digest(dataset.X_test), ytest=_array_digest(dataset.y_test))
    text = json.dumps(material, sort_keys=True, separators=(",", ":"), default=str)
    return hashlib.sha256(text.encode()).hexdigest()


# --------------------------------------------------------------------------- what a run keeps

def by_budget(trace, config) -> bool | None:
    """Whether a fresh run of ``config`` kept every iteration because the whole run fitted its budget.

    False for a trace that does not keep every iteration; None when it keeps
    every iteration but would have anyway (the explained iterations and
    checkpoints cover the run), so the budget is not known to suffice.
    """
    if not trace.complete:
        return False
    try:
        return True if len(wanted(config)) != config.training.iterations + 1 else None
    except ValueError:
        return None


def fit_to(trace, config, budget: bool | None):
    """``trace`` as a fresh run of ``config`` would produce it, or None when it lacks iterations.

    ``budget`` says whether the cached run kept every iteration because the
    whole run fitted its memory budget (see :func:`by_budget`; None: unknown). The budget is part of
    the key, so a run that fitted still fits.
    """
    T = config.training.iterations
    try:
        want = wanted(config)
    except ValueError:          # iterations out of range: training reports it
        return None
    covers_all = len(want) == T + 1
    if trace.complete:
        return trace if (covers_all or budget) else None
    if covers_all or trace.stopped_at is not None:
        return None
    kept = trace.kept
    if not set(want) <= set(kept):
        return None
    if list(kept) == want:
        return trace
    return trace.subset(want)


# --------------------------------------------------------------------------- the store

@dataclass(frozen=True)
class CacheInfo:
    folder: Path
    entries: int
    size: int
    limit: int


class CorruptEntry(Exception):
    """A cache entry whose files do not match their recorded checksums."""


class TraceCache:
    """Traces on disk, keyed by :func:`training_key`, bounded in size, verified on every read."""

    def __init__(self, folder: str | os.PathLike | None = None, limit: int | None = None) -> None:
        self.folder = Path(folder) if folder is not None else default_dir()
        self.limit = default_limit() if limit is None else int(limit)
        self.corrupt: list[str] = []     # keys found corrupt (and removed) by this object

    @property
    def templates(self) -> Path:
        """Where Jinja2 keeps its compiled templates between builds (cleared with the runs)."""
        return self.folder / COMPILED

    def _entry(self, key: str) -> Path:
        return self.folder / key[:2] / key

    # -- reading -----------------------------------------------------------------
    def get(self, key: str, config=None):
        """The cached trace for ``key`` fitted to ``config`` (see :func:`fit_to`), or None."""
        entry = self.entry(key)
        if entry is None:
            return None
        trace, budget = entry
        return trace if config is None else fit_to(trace, config, budget)

    def entry(self, key: str):
        """``(trace as stored, by_budget)`` for ``key``, or None; a corrupt entry is removed."""
        folder = self._entry(key)
        if not (folder / ENTRY).is_file():
            return None
        try:
            trace, meta = self._read(folder)
        except (CorruptEntry, OSError, ValueError, KeyError, TypeError, zipfile.BadZipFile):
            self.corrupt.append(key)
            _remove_entry(folder)
            return None
        try:
            os.utime(folder / ENTRY)          # least recently used goes first
        except OSError:
            pass
        return trace, meta.get("by_budget")

    def _read(self, folder: Path):
        meta = json.loads((folder / ENTRY).read_text(encoding="utf-8"))
        if meta.get("format") != FORMAT:
            raise CorruptEntry(f"unknown cache format {meta.get('format')!r}")
        for name in FILES:
            if _file_digest(folder / name) != meta["files"][name]:
                raise CorruptEntry(f"{folder / name}: checksum mismatch")
        trace = load_trace(folder)
        return trace, meta

    # -- writing -----------------------------------------------------------------
    def put(self, key: str, trace, config=None) -> bool:
        """Store ``trace`` under ``key``; False when it is larger than the whole cache may be."""
        staged = self._staging()
        try:
            trace.save(staged)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return self.commit(key, staged, trace, config)

    def stage(self, folder: Path) -> Path:
        """Copy the trace files a deck build just wrote in ``folder`` into a private staging folder.

        Copying the saved files is several times faster than saving the trace
        again; :meth:`commit` (which may run later, in another thread) checks
        and stores them.
        """
        staged = self._staging()
        try:
            for name in FILES:
                shutil.copyfile(folder / name, staged / name)
        except BaseException:
            shutil.rmtree(staged, ignore_errors=True)
            raise
        return staged

    def reserve(self) -> Path:
        """An empty private staging folder to save a trace into; :meth:`commit` stores it (and removes it)."""
        return self._staging()

    def _staging(self) -> Path:
        self.folder.mkdir(parents=True, exist_ok=True)
        return Path(tempfile.mkdtemp(prefix=".put-", dir=self.folder))

    def commit(self, key: str, staged: Path, trace, config=None) -> bool:
        """Sum, describe and move a staged entry into place (replacing an older one for ``key``)."""
        try:
            sums, size = {}, 0
            for name in FILES:
                sums[name] = _file_digest(staged / name)
                size += (staged / name).stat().st_size
            if size > self.limit:
                return False
            meta = {"format": FORMAT, "key": key, "deckgen": __version__, "files": sums, "size": size,
                    "complete": trace.complete, "by_budget": by_budget(trace, config) if config else None}
            (staged / ENTRY).write_text(json.dumps(meta, indent=1, sort_keys=True) + "\n", encoding="utf-8")
            final = self._entry(key)
            final.parent.mkdir(parents=True, exist_ok=True)
            old = None
            if final.exists():
                old = final.with_name(f".old-{final.name}-{os.getpid()}-{time.monotonic_ns()}")
                try:
                    os.replace(final, old)
                except OSError:
                    old = None
            try:
                os.replace(staged, final)
            except OSError:
                return final.is_dir()        # another process stored the same run meanwhile
            if old is not None:
                shutil.rmtree(old, ignore_errors=True)
        finally:
            if staged.exists():
                shutil.rmtree(staged, ignore_errors=True)
        self.evict()
        return True

    # -- housekeeping --------------------------------------------------------------
    def entries(self) -> list[tuple[float, int, Path]]:
        """``(last used, size, folder)`` of every entry, least recently used first."""
        found = []
        if not self.folder.is_dir():
            return found
        for meta in self.folder.glob(f"??/*/{ENTRY}"):
            if not _is_entry(meta.parent):
                continue
            try:
                stat = meta.stat()
                size = sum(f.stat().st_size for f in meta.parent.iterdir() if f.is_file())
            except OSError:
                continue
            found.append((stat.st_mtime, size, meta.parent))
        return sorted(found)

    def evict(self, limit: int | None = None) -> int:
        """Remove least recently used entries until the cache fits ``limit``; return how many went."""
        limit = self.limit if limit is None else limit
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        removed = 0
        for _, size, folder in entries:
            if total <= limit:
                break
            _remove_entry(folder)
            total -= size
            removed += 1
        return removed

    def clear(self) -> tuple[int, list[Path]]:
        """Remove every entry deckgen made here, and leftovers of interrupted writes.

        Returns how many entries went and what was left because deckgen did not
        make it (anything not laid out as ``KEY[:2]/KEY/`` with deckgen's own
        files, or a scratch folder holding only them). Nothing else is touched,
        so a cache folder pointed at a shared place (``~/.cache``) is safe.
        """
        count, foreign = 0, []
        if not self.folder.is_dir():
            return 0, foreign
        for child in sorted(self.folder.iterdir()):
            if child.name == COMPILED and child.is_dir() and not child.is_symlink():
                for f in child.iterdir():
                    if _COMPILED_FILE.fullmatch(f.name) and f.is_file():
                        f.unlink()
                    else:
                        foreign.append(f)
                with contextlib.suppress(OSError):
                    child.rmdir()
                continue
            if _SCRATCH.fullmatch(child.name) and child.is_dir() and not child.is_symlink():
                if not _remove_entry(child):
                    foreign.append(child)
                continue
            if not (len(child.name) == 2 and child.is_dir() and not child.is_symlink()):
                foreign.append(child)
                continue
            for entry in sorted(child.iterdir()):
                is_entry = _is_entry(entry) or (_SCRATCH.fullmatch(entry.name) and entry.is_dir()
                                                and not entry.is_symlink())
                if is_entry and _remove_entry(entry):
                    count += 0 if _SCRATCH.fullmatch(entry.name) else 1
                else:
                    foreign.append(entry)
            try:
                child.rmdir()            # only when nothing of anyone else's is left in it
            except OSError:
                pass
        return count, foreign

    def info(self) -> CacheInfo:
        entries = self.entries()
        return CacheInfo(folder=self.folder, entries=len(entries), size=sum(s for _, s, _ in entries),
                         limit=self.limit)


def _is_entry(folder: Path) -> bool:
    """Whether ``folder`` is laid out as one of deckgen's entries (``KEY[:2]/KEY`` with its ``entry.json``)."""
    name = folder.name
    return (bool(_KEY.fullmatch(name)) and folder.parent.name == name[:2] and not folder.is_symlink()
            and folder.is_dir() and (folder / ENTRY).is_file())


def _remove_entry(folder: Path) -> bool:
    """Delete deckgen's own files in ``folder`` and then the folder, if that leaves it empty.

    Never removes a file deckgen does not write into an entry; returns whether
    the folder is gone.
    """
    for name in (*FILES, ENTRY, *(f"{f}.tmp" for f in FILES)):
        try:
            (folder / name).unlink()
        except FileNotFoundError:
            pass
        except OSError:
            continue
    try:
        folder.rmdir()
    except FileNotFoundError:
        return True
    except OSError:
        return False
    return True


def _file_digest(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()
