"""Clean up after builds that were killed: roll back a swap cut short, return stranded files, sweep scratch folders."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

from deckgen.output.common import (JOURNAL, MARKER, count_files, files_listed, hold_interrupts, is_file, lock_folder,
                                   old_prefix, safe_relative, size_of, tmp_prefix, unlock)

def _return_users_files(folder: Path, out: Path, listed: set[str]) -> tuple[int, list[str]]:
    """Move the entries in ``folder`` that its marker does not list (the user's, carried there by an
    interrupted build) back to their places in ``out``; (how many moved, the ones whose place is taken)."""
    moved, kept = 0, []

    def visit(here: Path, prefix: str) -> None:
        nonlocal moved
        with os.scandir(here) as entries:
            for entry in sorted(entries, key=lambda e: e.name):
                rel = f"{prefix}{entry.name}"
                if rel in (MARKER, JOURNAL) or rel in listed and entry.is_file(follow_symlinks=False):
                    continue
                is_dir = entry.is_dir(follow_symlinks=False)
                if is_dir and (any(f.startswith(rel + "/") for f in listed)
                               or (out / rel).is_dir() and not (out / rel).is_symlink()):
                    visit(Path(entry.path), rel + "/")
                    continue
                if os.path.lexists(out / rel):
                    kept.append(rel)
                    continue
                try:
                    (out / rel).parent.mkdir(parents=True, exist_ok=True)
                    os.rename(entry.path, out / rel)
                    moved += 1
                except OSError:
                    kept.append(rel)

    visit(folder, "")
    return moved, kept


def _roll_back(old: Path, out: Path) -> tuple[int, list[str]]:
    """Undo a swap that was cut short, from its journal: the previous deck's files back into ``out``."""
    journal = json.loads((old / JOURNAL).read_text(encoding="utf-8"))
    previous, new = journal["previous"], journal["new"]
    staged = Path(journal["staging"])
    if not all(isinstance(r, str) and safe_relative(r) for r in previous + new):
        raise ValueError("journal")
    if all(is_file(old / rel) for rel in previous):    # new files are placed only after every old one moved
        for rel in new:     # placed by the cut-short swap (gone from its staging folder): deckgen's new files
            if not os.path.lexists(staged / rel) and is_file(out / rel):
                with contextlib.suppress(OSError):
                    (out / rel).unlink()
    restored, kept = 0, []
    for rel in previous:
        if not is_file(old / rel):
            continue
        if os.path.lexists(out / rel):
            kept.append(rel)
            continue
        (out / rel).parent.mkdir(parents=True, exist_ok=True)
        os.rename(old / rel, out / rel)
        restored += 1
    (old / JOURNAL).unlink()
    return restored, kept


def recover(out: Path) -> list[str]:
    """Clean up what builds into ``out`` that were killed left beside it; one line saying what was done.

    * a swap cut short (a journal in ``.OUT.deckgen-old-*``) is rolled back, so the
      previous deck is whole again;
    * files of the user's that an interrupted build carried into one of these folders
      go back to their places in ``out``;
    * the rest, deckgen's own unfinished output, is removed.

    Folders locked by a build that is still running are left alone. Nothing is
    removed that holds a file deckgen cannot tell as its own.
    """
    out = Path(out).absolute()
    try:
        siblings = [p for p in out.parent.iterdir()
                    if p.name.startswith((tmp_prefix(out), old_prefix(out))) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    removed, freed, returned, restored, problems = 0, 0, 0, 0, []
    for folder in sorted(siblings, key=lambda p: (not p.name.startswith(old_prefix(out)), p.name)):
        lock = lock_folder(folder)
        if lock is None:
            continue        # a build still running (or a folder that cannot be locked): not ours to touch
        try:
            with hold_interrupts():
                size = size_of(folder)
                is_old = folder.name.startswith(old_prefix(out))
                if is_old and is_file(folder / JOURNAL):
                    try:
                        n, kept = _roll_back(folder, out)
                    except (OSError, ValueError, KeyError, TypeError):
                        problems.append(f"{folder}: a deck swap was cut short and its journal cannot be read — "
                                        f"compare it with {out} and move back what is missing")
                        continue
                    restored += n
                    if kept:
                        problems.append(f"{folder}: {count_files(len(kept))} of the previous deck could not go "
                                        f"back into {out} (the place is taken) — they are kept there")
                        continue
                elif is_old and not out.exists() and files_listed(folder) is not None:
                    os.rename(folder, out)           # the whole previous deck, renamed away by an older deckgen
                    restored += len(files_listed(out) or ())
                    continue
                listed = files_listed(folder)
                if listed is not None:
                    n, kept = _return_users_files(folder, out, listed)
                    returned += n
                    if kept:
                        problems.append(f"{folder}: {count_files(len(kept))} of yours could not go back into {out} "
                                        f"(the place is taken), e.g. {kept[0]} — they are kept there; move them by hand")
                        continue
                shutil.rmtree(folder, ignore_errors=True)
                if not folder.exists():
                    removed += 1
                    freed += size
        finally:
            unlock(lock)
    notes = []
    if removed or restored or returned:
        done = []
        if restored:
            done.append(f"put {count_files(restored)} of the previous deck back")
        if returned:
            done.append(f"put {count_files(returned)} of yours back into {out}")
        if removed:
            done.append(f"removed {removed} unfinished build folder{'s' if removed != 1 else ''} "
                        f"({freed / 2**20:.1f} MB)")
        notes.append(f"{out}: an earlier build was interrupted; " + ", ".join(done))
    return notes + problems


SCRATCH_PREFIX = "deckgen-figures-"


SCRATCH_MARK = ".deckgen-scratch"      # in scratch folders that are locked while in use


UNMARKED_AGE = 24 * 3600               # an unmarked one (an older deckgen's) is only removed after a day


EXPORT_PREFIX = "deckgen-export-"


def scratch_folder(prefix: str = SCRATCH_PREFIX) -> tuple[Path, int | None]:
    """A new folder in the temporary directory (for figures drawn by another process, or the build an
    export prints from), locked while in use."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    lock = lock_folder(folder)
    (folder / SCRATCH_MARK).touch()
    return folder, lock


def sweep_scratch(now: float | None = None) -> tuple[int, int]:
    """Remove scratch folders of killed builds (unlocked, this user's); (how many, bytes freed)."""
    now = time.time() if now is None else now
    removed = freed = 0
    try:
        found = [p for p in Path(tempfile.gettempdir()).iterdir() if p.name.startswith((SCRATCH_PREFIX, EXPORT_PREFIX))]
    except OSError:
        return 0, 0
    for folder in found:
        try:
            if folder.is_symlink() or not folder.is_dir() or folder.stat().st_uid != os.getuid():
                continue
            if not (folder / SCRATCH_MARK).is_file() and now - folder.stat().st_mtime < UNMARKED_AGE:
                continue      # maybe in use by an older deckgen, which does not lock it
        except (OSError, AttributeError):
            continue
        lock = lock_folder(folder)
        if lock is None:
            continue
        try:
            size = size_of(folder)
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed, freed = removed + 1, freed + size
        finally:
            unlock(lock)
    return removed, freed
