"""Where the trace cache lives and how large it may grow, from the environment, with warnings for bad values."""

from __future__ import annotations

import math
import os
from pathlib import Path

from platformdirs import user_cache_path

DEFAULT_LIMIT_MB = 1024


def default_dir() -> Path:
    """Where the cache lives: ``DECKGEN_CACHE_DIR``, else the user's cache folder for deckgen, plus ``traces``."""
    explicit = os.environ.get("DECKGEN_CACHE_DIR")
    if explicit:
        return Path(explicit).expanduser()
    # appauthor=False: %LOCALAPPDATA%\deckgen\Cache on Windows, not deckgen\deckgen\Cache
    return user_cache_path("deckgen", appauthor=False) / "traces"


def _limit_mb() -> tuple[float, str | None]:
    """``DECKGEN_CACHE_SIZE_MB`` in MB, and a warning when it is not a usable size (then the default)."""
    raw = os.environ.get("DECKGEN_CACHE_SIZE_MB", "")
    if not raw.strip():
        return DEFAULT_LIMIT_MB, None
    try:
        mb = float(raw)
    except ValueError:
        mb = math.nan
    if not math.isfinite(mb) or mb < 0 or mb * 2**20 > 2**62:
        shown = raw if len(raw) <= 40 else raw[:40] + "…"
        return DEFAULT_LIMIT_MB, (f"DECKGEN_CACHE_SIZE_MB={shown!r} is not a size in MB — using the default, "
                                  f"{DEFAULT_LIMIT_MB} MB; set it to a number such as 512")
    return mb, None


def default_limit() -> int:
    """The size limit in bytes (``DECKGEN_CACHE_SIZE_MB``, default 1024 MB; the default when it is not a size)."""
    return max(int(_limit_mb()[0] * 2**20), 0)


def setting_warnings(folder: Path | None = None) -> tuple[list[str], bool]:
    """Problems with the cache's settings, as warnings, and whether the cache folder can be used at all.

    A size that is not a number falls back to the default; a folder that is a file,
    lies under a file or cannot be written means building without the cache.
    """
    warnings = [w for w in (_limit_mb()[1],) if w]
    folder = default_dir() if folder is None else Path(folder)
    where = f"DECKGEN_CACHE_DIR={folder}" if os.environ.get("DECKGEN_CACHE_DIR") else f"the trace cache {folder}"
    fix = "building without the cache; point DECKGEN_CACHE_DIR at a folder you can write, or pass --no-cache"
    problem = None
    for part in (folder, *folder.parents):
        if os.path.lexists(part):
            if not part.is_dir():
                problem = "is a file, not a folder" if part == folder else f"lies under a file ({part})"
            elif not os.access(part, os.W_OK | os.X_OK) or part == folder and not os.access(part, os.R_OK):
                problem = "cannot be written" if part == folder else f"cannot be made ({part} cannot be written)"
            break
    if problem:
        warnings.append(f"{where}: {problem} — {fix}")
    return warnings, problem is None
