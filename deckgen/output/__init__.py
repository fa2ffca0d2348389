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

from deckgen.output.common import (DECK_FILES, DECK_FOLDERS, MARKER, Terminated, hold_interrupts, raise_terminated,
                                   unlock)
from deckgen.output.folder import check_out, discard, install, staging
from deckgen.output.recover import EXPORT_PREFIX, SCRATCH_PREFIX, recover, scratch_folder, sweep_scratch

__all__ = ["DECK_FILES", "DECK_FOLDERS", "EXPORT_PREFIX", "MARKER", "SCRATCH_PREFIX", "Terminated", "check_out", "discard",
           "hold_interrupts", "install", "raise_terminated", "recover", "scratch_folder", "staging", "sweep_scratch",
           "unlock"]
