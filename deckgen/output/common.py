"""What the deck-folder writer and its recovery share: the marker, signals, locks, names of scratch folders."""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import signal
import threading
from pathlib import Path
from typing import Iterator

from deckgen.errors import OutputError

MARKER = ".deckgen.json"
#: Names at the top of every deck: a file of the user's by one of these names is in the way.
DECK_FILES = ("index.html", "trace.npz", "trace.json")
DECK_FOLDERS = ("assets", "figures")


def ours(marker: Path) -> set[str]:
    """The files a marker says deckgen wrote; a damaged marker is refused, never guessed at."""
    try:
        files = json.loads(marker.read_text(encoding="utf-8"))["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) and safe_relative(f) for f in files):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"{marker}: unreadable deckgen marker — remove it (deckgen will then treat the folder "
                          "as not its own) or choose another output folder with -o") from None
    return set(files)


def safe_relative(rel: str) -> bool:
    """A plain relative path inside the deck: no ``..``, ``.``, empty parts, backslashes or NULs."""
    return all(part not in ("", ".", "..") for part in rel.split("/")) and "\\" not in rel and "\0" not in rel


class Terminated(KeyboardInterrupt):
    """SIGTERM (``timeout``, CI cancellation, ``docker stop``), handled like Ctrl-C."""


def raise_terminated(signum, frame) -> None:
    """A SIGTERM handler: stop the way Ctrl-C does, so every clean-up runs."""
    raise Terminated


@contextlib.contextmanager
def hold_interrupts(reraise: bool = True) -> Iterator[None]:
    """Delay Ctrl-C (SIGINT) and SIGTERM until the block is done; then raise it (``reraise``) or let it go.

    ``reraise=False`` is for a block whose completion *is* the user's result (the
    swap that puts a finished deck in place): stopping after it gains nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    previous: dict[int, object] = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, lambda signum, frame: caught.append(signum))
    except (ValueError, OSError):  # signals unavailable here: nothing to hold back
        for signum, handler in previous.items():
            signal.signal(signum, handler)
        yield
        return
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
    if caught and reraise:
        if caught[0] == signal.SIGTERM:
            handler = previous[signal.SIGTERM]
            if callable(handler):
                handler(signal.SIGTERM, None)
            elif handler == signal.SIG_DFL:
                signal.raise_signal(signal.SIGTERM)
            return
        raise KeyboardInterrupt


def pause_at(stage: str) -> None:
    """Stop this process (SIGSTOP) at ``stage`` when ``DECKGEN_STOP_AT`` names it.

    A seam for tests that interrupt a build at an exact moment: they wait until the
    process has stopped, then signal it, with no timing involved.
    """
    if os.environ.get("DECKGEN_STOP_AT") == stage and hasattr(signal, "SIGSTOP"):
        os.kill(os.getpid(), signal.SIGSTOP)


def lock_folder(folder: Path) -> int | None:
    """An exclusive lock on ``folder`` for as long as the returned descriptor is open (the process lives).

    :func:`recover` leaves a locked folder alone: it belongs to a build still running.
    """
    try:
        import fcntl   # not on every platform: without it, no lock (and no clean-up of leftovers)
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


def tmp_prefix(out: Path) -> str:
    return f".{out.name}.deckgen-tmp-"


def old_prefix(out: Path) -> str:
    return f".{out.name}.deckgen-old-"


def fresh_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/prefix<pid>-<random>``, made with the mode the umask gives (like ``mkdir``)."""
    while True:
        path = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


JOURNAL = ".deckgen-swap.json"


def is_file(path: Path) -> bool:
    """A regular file, not a link."""
    return path.is_file() and not path.is_symlink()


def count_files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


def size_of(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def files_listed(folder: Path) -> set[str] | None:
    """The files a leftover folder's marker lists as deckgen's, or None when it has no readable marker."""
    try:
        return ours(folder / MARKER) if is_file(folder / MARKER) else None
    except OutputError:
        return None
