"""The story stage: trace -> ordered slide view-models, with every number already formatted.

:func:`build_story` (in :mod:`deckgen.story.talk`) is the pure heart of deckgen:
no files and no HTML, so it is tested without rendering. The calculation
slides come from :mod:`~deckgen.story.steps`, the matrix widgets and number
formatting from :mod:`~deckgen.story.views`.
"""

from deckgen.story.slides import Slide, Story
from deckgen.story.talk import build_story

__all__ = ["Slide", "Story", "build_story"]
