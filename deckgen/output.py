"""Writing a deck folder safely.

deckgen never deletes or overwrites a file it did not write. A deck folder holds
a marker (``.deckgen.json``) listing the files deckgen wrote; a folder without
one is refused unless ``--force`` is given, and files a user added beside the
deck are carried over from one build to the next. A build goes to a temporary
folder first and is swapped into place only when complete.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

from . import __version__
from .errors import OutputError

MARKER = ".deckgen.json"


def check_out(out: Path, force: bool) -> set[str]:
    """The files deckgen wrote into ``out`` last time; refuse a folder deckgen did not make."""
    if not out.exists():
        return set()
    if not out.is_dir():
        raise OutputError(f"{out}: exists and is not a folder — choose another output with -o")
    marker = out / MARKER
    if marker.is_file():
        try:
            return set(json.loads(marker.read_text(encoding="utf-8"))["files"])
        except (ValueError, KeyError, TypeError):
            raise OutputError(f"{marker}: unreadable deckgen marker — remove it or use another output folder") from None
    if any(out.iterdir()) and not force:
        raise OutputError(f"{out}: folder exists and was not written by deckgen — choose another output "
                          "with -o, or pass --force to build into it (its files are kept)")
    return set()


def install(tmp: Path, out: Path, ours_before: set[str]) -> None:
    """Move a finished build from ``tmp`` to ``out``, keeping every file there that deckgen did not write."""
    new_files = {p.relative_to(tmp).as_posix() for p in tmp.rglob("*") if p.is_file()}
    (tmp / MARKER).write_text(json.dumps({"deckgen": __version__, "files": sorted(new_files)}, indent=1) + "\n",
                              encoding="utf-8")
    if out.exists():
        for path in sorted(out.rglob("*")):
            rel = path.relative_to(out).as_posix()
            if path.is_file() and rel not in ours_before and rel != MARKER and rel not in new_files:
                target = tmp / rel
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(path, target)  # a file the user added: carried over untouched
        old = out.with_name(f".{out.name}.deckgen-old-{os.getpid()}")
        os.replace(out, old)
        try:
            os.replace(tmp, out)
        except BaseException:
            os.replace(old, out)
            raise
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, out)
