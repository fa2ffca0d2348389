"""Writing a deck folder safely.

deckgen never deletes or overwrites a file it did not write. A deck folder holds
a marker (``.deckgen.json``) listing the files deckgen wrote; a folder without
one is refused unless ``--force`` is given, and even then every file in it is
kept. Files a user added to a deck folder are carried over from one build to the
next, moved (never copied or rewritten), so links, permissions and empty folders
survive too.

A build goes to a temporary folder beside OUT (:func:`staging`) and is swapped
into place only when complete (:func:`install`). The swap moves files, not the
folder: OUT itself (its mode, owner, group, inode) stays, so a shell or a server
sitting in it keeps working, and the user's files in it never move. The previous
deck's files go to a second folder beside OUT, with a journal, and the new ones
move in; while that runs, Ctrl-C and SIGTERM are held back until it is done, and
any failure undoes it, so a failed or interrupted build leaves the previous deck
byte-identical and no temporary folder behind.

A build killed outright (SIGKILL, power loss) cannot clean up after itself: the
next build into the same folder does it (:func:`recover`), rolling back a swap
that was cut short from its journal and removing the unfinished build. A folder
is only touched when no live build holds its lock.
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

from . import __version__
from .errors import OutputError

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


def _pause_at(stage: str) -> None:
    """Stop this process (SIGSTOP) at ``stage`` when ``DECKGEN_STOP_AT`` names it.

    A seam for tests that interrupt a build at an exact moment: they wait until the
    process has stopped, then signal it, with no timing involved.
    """
    if os.environ.get("DECKGEN_STOP_AT") == stage and hasattr(signal, "SIGSTOP"):
        os.kill(os.getpid(), signal.SIGSTOP)


def _lock(folder: Path) -> int | None:
    """An exclusive lock on ``folder`` for as long as the returned descriptor is open (the process lives).

    :func:`recover` leaves a locked folder alone: it belongs to a build still running.
    """
    try:
        import fcntl
        fd = os.open(folder, os.O_RDONLY)
    except (ImportError, OSError):
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        os.close(fd)
        return None
    return fd


def _unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)


# --------------------------------------------------------------------------- staging

def _tmp_prefix(out: Path) -> str:
    return f".{out.name}.deckgen-tmp-"


def _old_prefix(out: Path) -> str:
    return f".{out.name}.deckgen-old-"


def _fresh_folder(parent: Path, prefix: str) -> Path:
    """A new folder ``parent/prefix<pid>-<random>``, made with the mode the umask gives (like ``mkdir``)."""
    while True:
        path = parent / f"{prefix}{os.getpid()}-{secrets.token_hex(4)}"
        try:
            os.mkdir(path)
            return path
        except FileExistsError:
            continue


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
            tmp = _fresh_folder(out.parent, _tmp_prefix(out))
            lock = _lock(tmp)
        _pause_at("render")
        yield tmp
        install(tmp, out, ours)
    finally:
        if tmp is not None:
            discard(tmp)
        _unlock(lock)


def discard(tmp: Path) -> None:
    """Remove a temporary build folder (only deckgen's own files are ever in it), Ctrl-C held back."""
    with hold_interrupts():
        if tmp.exists():
            shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- the swap

JOURNAL = ".deckgen-swap.json"


def _is_file(path: Path) -> bool:
    """A regular file, not a link."""
    return path.is_file() and not path.is_symlink()


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
            if prefix in ours and _is_file(path):
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
    _pause_at("install")
    new_files = sorted(p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file())
    if out.exists() and (out / MARKER).is_file():
        ours_before = ours_before | _ours(out / MARKER)  # a build that finished meanwhile wrote these
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
        old = _fresh_folder(out.parent, _old_prefix(out))
        lock = _lock(old)
        try:
            _swap(tmp, out, old, new_files, ours_before)
        finally:
            _unlock(lock)


def _swap(tmp: Path, out: Path, old: Path, new_files: list[str], ours: set[str]) -> None:
    """The files of the previous deck from ``out`` to ``old``, then the new ones from ``tmp`` to ``out``."""
    backup = sorted(rel for rel in ours | {MARKER} if _is_file(out / rel))
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
        _pause_at("swap")
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


def count_files(n: int) -> str:
    return f"{n} file{'s' if n != 1 else ''}"


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


# --------------------------------------------------------------------------- after a killed build

def _size(folder: Path) -> int:
    total = 0
    for root, _dirs, files in os.walk(folder):
        for name in files:
            with contextlib.suppress(OSError):
                total += os.lstat(os.path.join(root, name)).st_size
    return total


def _listed(folder: Path) -> set[str] | None:
    """The files a leftover folder's marker lists as deckgen's, or None when it has no readable marker."""
    try:
        return _ours(folder / MARKER) if _is_file(folder / MARKER) else None
    except OutputError:
        return None


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
    if not all(isinstance(r, str) and _safe_relative(r) for r in previous + new):
        raise ValueError("journal")
    if all(_is_file(old / rel) for rel in previous):    # new files are placed only after every old one moved
        for rel in new:     # placed by the cut-short swap (gone from its staging folder): deckgen's new files
            if not os.path.lexists(staged / rel) and _is_file(out / rel):
                with contextlib.suppress(OSError):
                    (out / rel).unlink()
    restored, kept = 0, []
    for rel in previous:
        if not _is_file(old / rel):
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
                    if p.name.startswith((_tmp_prefix(out), _old_prefix(out))) and p.is_dir() and not p.is_symlink()]
    except OSError:
        return []
    removed, freed, returned, restored, problems = 0, 0, 0, 0, []
    for folder in sorted(siblings, key=lambda p: (not p.name.startswith(_old_prefix(out)), p.name)):
        lock = _lock(folder)
        if lock is None:
            continue        # a build still running (or a folder that cannot be locked): not ours to touch
        try:
            with hold_interrupts():
                size = _size(folder)
                is_old = folder.name.startswith(_old_prefix(out))
                if is_old and _is_file(folder / JOURNAL):
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
                elif is_old and not out.exists() and _listed(folder) is not None:
                    os.rename(folder, out)           # the whole previous deck, renamed away by an older deckgen
                    restored += len(_listed(out) or ())
                    continue
                listed = _listed(folder)
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
            _unlock(lock)
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
    lock = _lock(folder)
    (folder / SCRATCH_MARK).touch()
    return folder, lock


def sweep_scratch(now: float | None = None) -> tuple[int, int]:
    """Remove scratch folders of killed builds (unlocked, this user's); (how many, bytes freed)."""
    import time

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
        lock = _lock(folder)
        if lock is None:
            continue
        try:
            size = _size(folder)
            shutil.rmtree(folder, ignore_errors=True)
            if not folder.exists():
                removed, freed = removed + 1, freed + size
        finally:
            _unlock(lock)
    return removed, freed
