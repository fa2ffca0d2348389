"""Static assets of a deck: reveal.js from its package, plus deckgen's own CSS and script."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from deckgen.resources import reveal_dir, templates_dir

#: reveal.js files every deck needs, relative to the reveal.js package folder.
REVEAL_FILES = ("dist/reveal.js", "dist/reveal.css", "dist/reset.css", "dist/plugin/notes.js", "LICENSE")

# Themes other than white/black pull web fonts with a remote @import; offline decks drop it
# and fall back to the local font stack the theme names after the web font.
_REMOTE_IMPORT = re.compile(r"@import\s+(?:url\()?\s*[\"']?(?:https?:)?//[^;]*;\s*", re.IGNORECASE)


def offline_css(text: str) -> str:
    """A stylesheet with every import of a remote resource removed."""
    return _REMOTE_IMPORT.sub("", text)


def copy_assets(out: Path, theme: str, user_dirs: tuple[Path, ...] = ()) -> list[Path]:
    """Copy reveal.js, the theme and deckgen's assets into ``out/assets``; return the files written."""
    src = reveal_dir()
    written: list[Path] = []
    dest = out / "assets" / "reveal"
    for rel in REVEAL_FILES:
        target = dest / Path(rel).name if rel == "LICENSE" else dest / Path(rel).relative_to("dist")
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src / rel, target)
        written.append(target)
    theme_file = dest / "theme" / f"{theme}.css"
    theme_file.parent.mkdir(parents=True, exist_ok=True)
    theme_file.write_text(offline_css((src / "dist" / "theme" / f"{theme}.css").read_text(encoding="utf-8")),
                          encoding="utf-8")
    written.append(theme_file)
    for name in ("deck.css", "deck.js"):
        source = next((d / "assets" / name for d in (*user_dirs, templates_dir()) if (d / "assets" / name).is_file()))
        target = out / "assets" / name
        shutil.copyfile(source, target)
        written.append(target)
    return written
