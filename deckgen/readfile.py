"""Reading an input file safely: only a regular file, and only up to a size cap.

A FIFO would block the reader forever and ``/dev/zero`` would fill memory; a
file larger than the cap would be read whole before anything could be said
about it. :func:`read_capped` refuses all three before reading, with the reason
in words a message can use.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

MB = 2**20
DECK_FILE_LIMIT = 1 * MB      # a deck file is a few kilobytes of TOML
CSV_LIMIT = 64 * MB           # far beyond what a network that is explained number by number can use


class NotReadable(Exception):
    """``what`` says why, as the middle of a message ("is a named pipe (FIFO), not a regular file")."""

    def __init__(self, what: str, hint: str) -> None:
        super().__init__(what)
        self.what, self.hint = what, hint


_KINDS = ((stat.S_ISFIFO, "a named pipe (FIFO)"), (stat.S_ISCHR, "a character device"),
          (stat.S_ISBLK, "a block device"), (stat.S_ISSOCK, "a socket"), (stat.S_ISDIR, "a folder"))


def _size(n: int) -> str:
    return f"{n / MB:.{0 if n % MB == 0 else 1}f} MB" if n >= MB else f"{n / 1024:.0f} KB" if n >= 1024 else f"{n} bytes"


def read_capped(path: Path, limit: int) -> bytes:
    """The bytes of the regular file ``path`` (following links), at most ``limit`` of them.

    Raises :class:`NotReadable` for anything else (a pipe, a device, a file over the
    cap) and ``OSError`` as ``open`` does (missing, no permission).
    """
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0))
    try:
        mode = os.fstat(fd).st_mode
        if not stat.S_ISREG(mode):
            kind = next((name for test, name in _KINDS if test(mode)), "not a regular file")
            raise NotReadable(f"is {kind}, not a regular file", "give a regular file (save the data to a file first)")
        cap = f"the limit is {_size(limit)}"
        hint = "use a smaller file"
        size = os.fstat(fd).st_size
        if size > limit:
            raise NotReadable(f"is {_size(size)}, larger than deckgen reads ({cap})", hint)
        chunks, total = [], 0
        while True:
            chunk = os.read(fd, min(limit + 1 - total, 1 << 20))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:       # grew while being read
                raise NotReadable(f"is larger than deckgen reads ({cap})", hint)
        return b"".join(chunks)
    finally:
        os.close(fd)
