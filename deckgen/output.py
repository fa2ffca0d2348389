"""Writing a deck folder safely.

deckgen never deletes or overwrites a file it did not write. A deck folder holds
a marker (``.deckgen.json``) listing the files deckgen wrote; a folder without
one is refused unless ``--force`` is given, and even then every file in it is
kept. Files a user added to a deck folder are carried over from one build to the
next, moved (never copied or rewritten), so links, permissions and empty folders
survive too.

A build goes to a temporary folder beside OUT (:func:`staging`) and is swapped
into place only when complete (:func:`install`). The swap is two renames; while
it runs, Ctrl-C is held back until it is done, and any failure undoes it, so a
failed or interrupted build leaves the previous deck byte-identical and no
temporary folder behind.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import secrets
import signal
import tempfile
import threading
from pathlib import Path, PurePosixPath
from typing import Iterator

from deckgen import __version__
from deckgen.errors import OutputError

MARKER = ".deckgen.json"
#: Names at the top of every deck: a file of the user's by one of these names is in the way.
DECK_FILES = ("index.html", "trace.npz", "trace.json")
DECK_FOLDERS = ("assets", "figures")


def _ours(marker: Path) -> set[str]:
    """The files a marker says deckgen wrote; a damaged marker is refused, never guessed at."""
    try:
        files = json.loads(marker.read_text(encoding="utf-8"))["files"]
        if not isinstance(files, list) or not all(isinstance(f, str) and _safe_relative(f) for f in files):
            raise TypeError
    except (OSError, ValueError, KeyError, TypeError):
        raise OutputError(f"{marker}: unreadable deckgen marker — remove it (deckgen will then treat the folder "
                          "as not its own) or choose another output folder with -o") from None
    return set(files)


def _safe_relative(rel: str) -> bool:
    """A plain relative path inside the deck: no ``..``, ``.``, empty parts, backslashes or NULs."""
    return all(part not in ("", ".", "..") for part in rel.split("/")) and "\\" not in rel and "\0" not in rel


def check_out(out: Path, force: bool) -> set[str]:
    """The files deckgen wrote into ``out`` last time; refuse a folder it cannot build into safely."""
    out = Path(out)
    for parent in out.parents:
        if parent.exists() or parent.is_symlink():
            if not parent.is_dir():
                raise OutputError(f"{parent}: is not a folder, so {out} cannot be made — choose another output with -o")
            if not os.access(parent, os.W_OK | os.X_OK) and parent == out.parent:
                raise OutputError(f"{parent}: no permission to write there — choose another output with -o")
            break
    if out.is_symlink():
        raise OutputError(f"{out}: is a symbolic link — give the folder it points to ({os.path.realpath(out)}) "
                          "with -o instead")
    if not out.exists():
        return set()
    if not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder — choose another output with -o")
    marker = out / MARKER
    if marker.is_file() and not marker.is_symlink():
        return _ours(marker)
    try:
        entries = list(out.iterdir())
    except OSError as exc:
        raise OutputError(f"{out}: cannot be read ({exc.__class__.__name__}) — choose another output with -o") from None
    if not entries:
        return set()
    if not force:
        raise OutputError(f"{out}: folder exists and was not written by deckgen — choose another output "
                          "with -o, or pass --force to build into it (its files are kept)")
    in_the_way = [name for name in DECK_FILES if os.path.lexists(out / name)]
    in_the_way += [name for name in DECK_FOLDERS if os.path.lexists(out / name) and not (out / name).is_dir()]
    if marker.is_symlink() or marker.exists():
        in_the_way.append(MARKER)
    if in_the_way:
        raise OutputError(*(f"{out / name}: not written by deckgen, and the deck needs this name — move or rename "
                            "it, then build again (deckgen never overwrites files it did not write)"
                            for name in in_the_way))
    return set()


# --------------------------------------------------------------------------- Ctrl-C

@contextlib.contextmanager
def hold_interrupts(reraise: bool = True) -> Iterator[None]:
    """Delay Ctrl-C (SIGINT) until the block is done; then raise it (``reraise``) or let it go.

    ``reraise=False`` is for a block whose completion *is* the user's result (the
    swap that puts a finished deck in place): stopping after it gains nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught: list[int] = []
    try:
        previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    except (ValueError, OSError):  # signals unavailable here: nothing to hold back
        yield
        return
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught and reraise:
        raise KeyboardInterrupt


# --------------------------------------------------------------------------- staging

def _tmp_prefix(out: Path) -> str:
    return f".{out.name}.deckgen-tmp-"


@contextlib.contextmanager
def staging(out: Path, force: bool = False) -> Iterator[Path]:
    """A fresh temporary folder beside ``out`` to write a deck into; installed into ``out`` when the block
    ends normally, removed (with everything in it) when it does not.

    Use as ``with staging(out, force) as tmp: write(tmp)``.
    """
    out = Path(out).absolute()
    ours = check_out(out, force)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp: Path | None = None
    try:
        with hold_interrupts():
            tmp = Path(tempfile.mkdtemp(prefix=_tmp_prefix(out), dir=out.parent))
            os.chmod(tmp, 0o755)  # mkdtemp makes it private; a deck is meant to be served and shared
        yield tmp
        install(tmp, out, ours)
    finally:
        if tmp is not None:
            discard(tmp)


def discard(tmp: Path) -> None:
    """Remove a temporary build folder (only deckgen's own files are ever in it), Ctrl-C held back."""
    with hold_interrupts():
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- the swap

def _plan_moves(out: Path, tmp: Path, ours: set[str]) -> tuple[list[str], list[str]]:
    """The user's entries in ``out`` to carry into ``tmp`` (relative paths), and the ones in the way.

    A folder that holds none of deckgen's files moves as one piece; one that does
    (``assets/``) is entered and its other entries move one by one. Symbolic links
    are never followed.
    """
    dirs_with_ours = {str(PurePosixPath(rel).parent) for rel in ours}
    dirs_with_ours = {str(p) for d in dirs_with_ours for p in (PurePosixPath(d), *PurePosixPath(d).parents)}
    moves: list[str] = []
    clashes: list[str] = []

    def visit(folder: Path, prefix: str) -> None:
        with os.scandir(folder) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{prefix}{entry.name}"
                if rel == MARKER or (rel in ours and entry.is_file(follow_symlinks=False)):
                    continue  # deckgen's own file: replaced by the new build
                is_dir = entry.is_dir(follow_symlinks=False)
                target = tmp / rel
                if is_dir and (rel in dirs_with_ours or target.is_dir() and not target.is_symlink()):
                    visit(Path(entry.path), rel + "/")
                elif os.path.lexists(target):
                    clashes.append(rel)
                else:
                    moves.append(rel)

    visit(out, "")
    return moves, clashes


def _delete_ours(old: Path, ours: set[str]) -> bool:
    """Delete the previous deck's files (only those the marker lists) and then-empty folders; True if all gone."""
    for root, dirs, files in os.walk(old, topdown=False):
        for name in files:
            path = Path(root) / name
            rel = path.relative_to(old).as_posix()
            if rel in ours or rel == MARKER:
                with contextlib.suppress(OSError):
                    path.unlink()
        for name in dirs:
            with contextlib.suppress(OSError):
                (Path(root) / name).rmdir()  # only succeeds when empty
    with contextlib.suppress(OSError):
        old.rmdir()
    return not old.exists()


def install(tmp: Path, out: Path, ours_before: set[str]) -> None:
    """Move a finished build from ``tmp`` to ``out``, carrying over every file there that deckgen did not write.

    Either the new deck is in place afterwards, with the user's files, or (on any
    error, or Ctrl-C) ``out`` is exactly as it was.
    """
    tmp, out = Path(tmp), Path(out)
    new_files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    if out.exists() and (out / MARKER).is_file():
        ours_before = ours_before | _ours(out / MARKER)  # a build that finished meanwhile wrote these
    moves, clashes = _plan_moves(out, tmp, ours_before) if out.exists() else ([], [])
    if clashes:
        raise OutputError(*(f"{out / rel}: not written by deckgen, and the new deck needs this name — move or "
                            "rename it, then build again (deckgen never overwrites files it did not write)"
                            for rel in clashes))
    (tmp / MARKER).write_text(json.dumps({"deckgen": __version__, "files": new_files}, indent=1) + "\n",
                              encoding="utf-8")
    with hold_interrupts(reraise=False):
        if not out.exists():
            os.rename(tmp, out)
            return
        old = out.with_name(f".{out.name}.deckgen-old-{os.getpid()}-{secrets.token_hex(4)}")
        done: list[str] = []
        swapped = False
        try:
            for rel in moves:
                (tmp / rel).parent.mkdir(parents=True, exist_ok=True)
                os.rename(out / rel, tmp / rel)
                done.append(rel)
            os.rename(out, old)
            swapped = True
            os.rename(tmp, out)
        except BaseException as exc:
            _undo(out, tmp, old, done, swapped)
            if isinstance(exc, OSError):
                raise OutputError(f"{out}: the new deck could not be put in place ({exc.strerror or exc}) — "
                                  "the previous deck is unchanged") from exc
            raise
        _delete_ours(old, ours_before)


def _undo(out: Path, tmp: Path, old: Path, done: list[str], swapped: bool) -> None:
    """Put ``out`` back as it was: rename it back, then return the user's entries to their places."""
    if swapped and not out.exists():
        os.rename(old, out)
    stranded = []
    for rel in reversed(done):
        try:
            os.rename(tmp / rel, out / rel)
        except OSError:
            stranded.append(rel)
    if stranded:
        # never let the caller's clean-up delete a user's file: keep the folder under a name that says why
        rescue = out.with_name(f"{out.name}.deckgen-rescued-{os.getpid()}")
        os.rename(tmp, rescue)
        raise OutputError(f"{rescue}: could not move {len(stranded)} of your files back into {out}; "
                          "they are kept here — move them back by hand")

