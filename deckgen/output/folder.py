"""Build into a staging folder beside OUT, then swap the files into OUT (the folder itself stays)."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
from pathlib import Path, PurePosixPath
from typing import Iterator

from deckgen import __version__
from deckgen.errors import OutputError
from deckgen.output.common import (DECK_FILES, DECK_FOLDERS, JOURNAL, MARKER, count_files, fresh_folder, hold_interrupts,
                                   is_file, lock_folder, old_prefix, ours, pause_at, tmp_prefix, unlock)

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
        return ours(marker)
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
    lock: int | None = None
    try:
        with hold_interrupts():
            tmp = fresh_folder(out.parent, tmp_prefix(out))
            lock = lock_folder(tmp)
        pause_at("render")
        yield tmp
        install(tmp, out, ours)
    finally:
        if tmp is not None:
            discard(tmp)
        unlock(lock)


def discard(tmp: Path) -> None:
    """Remove a temporary build folder (only deckgen's own files are ever in it), Ctrl-C held back."""
    with hold_interrupts():
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


def _clashes(out: Path, new_files: list[str], ours: set[str]) -> list[str]:
    """Entries of the user's in ``out`` where the new deck needs to put a file (or a folder on its way)."""
    clashes: list[str] = []
    for rel in new_files:
        parts = rel.split("/")
        for i in range(1, len(parts) + 1):
            prefix = "/".join(parts[:i])
            path = out / prefix
            if not os.path.lexists(path):
                break
            if prefix in ours and is_file(path):
                break                                   # deckgen's, moved aside first
            if i < len(parts) and path.is_dir() and not path.is_symlink():
                continue
            clashes.append(prefix)
            break
    return sorted(set(clashes))


def _write_journal(old: Path, data: dict) -> None:
    part = old / (JOURNAL + ".part")
    part.write_text(json.dumps(data, indent=1) + "\n", encoding="utf-8")
    os.rename(part, old / JOURNAL)


def install(tmp: Path, out: Path, ours_before: set[str]) -> None:
    """Move a finished build from ``tmp`` into ``out``, leaving every file there that deckgen did not write.

    ``out`` keeps its identity (inode, mode, owner, group): the previous deck's files
    move out to a folder beside it and the new ones move in. Either the new deck is
    in place afterwards, or (on any error, Ctrl-C or SIGTERM) ``out`` is exactly as it was.
    """
    tmp, out = Path(tmp), Path(out)
    pause_at("install")
    new_files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    if out.exists() and (out / MARKER).is_file():
        ours_before = ours_before | ours(out / MARKER)  # a build that finished meanwhile wrote these
    ours_before = ours_before - {MARKER}
    if out.exists():
        clashes = _clashes(out, new_files, ours_before | {MARKER})
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
        old = fresh_folder(out.parent, old_prefix(out))
        lock = lock_folder(old)
        try:
            _swap(tmp, out, old, new_files, ours_before)
        finally:
            unlock(lock)


def _swap(tmp: Path, out: Path, old: Path, new_files: list[str], ours: set[str]) -> None:
    """The files of the previous deck from ``out`` to ``old``, then the new ones from ``tmp`` to ``out``."""
    backup = sorted(rel for rel in ours | {MARKER} if is_file(out / rel))
    incoming = [rel for rel in new_files if rel != MARKER] + [MARKER]   # the marker last: it says "done"
    _write_journal(old, {"deckgen": __version__, "out": str(out), "staging": str(tmp),
                         "previous": backup, "new": incoming})
    moved: list[str] = []
    placed: list[str] = []
    made: list[Path] = []
    try:
        for rel in backup:
            (old / rel).parent.mkdir(parents=True, exist_ok=True)
            os.rename(out / rel, old / rel)
            moved.append(rel)
        pause_at("swap")
        for rel in incoming:
            for parent in reversed(PurePosixPath(rel).parents[:-1]):
                if not os.path.lexists(out / parent):
                    os.mkdir(out / parent)
                    made.append(out / parent)
            os.rename(tmp / rel, out / rel)
            placed.append(rel)
    except BaseException as exc:
        stranded = _unswap(tmp, out, old, moved, placed, made)
        if stranded:
            raise OutputError(f"{old}: could not move {count_files(len(stranded))} of the previous deck back into "
                              f"{out}; they are kept there — run the build again") from exc
        shutil.rmtree(old, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(f"{out}: the new deck could not be put in place ({exc.strerror or exc}) — "
                              "the previous deck is unchanged") from exc
        raise
    os.unlink(old / JOURNAL)         # from here on the folder holds only the previous deck's files
    _prune(out, {rel for rel in backup if rel not in set(incoming)})
    shutil.rmtree(old, ignore_errors=True)


def _prune(out: Path, gone: set[str]) -> None:
    """Remove the folders that held only the previous deck's files, now empty (deepest first)."""
    folders = {p for rel in gone for p in PurePosixPath(rel).parents if str(p) != "."}
    for folder in sorted(folders, key=lambda p: -len(p.parts)):
        with contextlib.suppress(OSError):
            (out / folder).rmdir()     # only succeeds when empty


def _unswap(tmp: Path, out: Path, old: Path, moved: list[str], placed: list[str], made: list[Path]) -> list[str]:
    """Undo :func:`_swap` as far as it went; the previous deck's files that could not go back."""
    for rel in reversed(placed):
        with contextlib.suppress(OSError):
            os.rename(out / rel, tmp / rel)
    for folder in reversed(made):
        with contextlib.suppress(OSError):
            folder.rmdir()
    stranded = []
    for rel in reversed(moved):
        try:
            os.rename(old / rel, out / rel)
        except OSError:
            stranded.append(rel)
    return stranded
