"""Where deckgen's own files are: templates, example decks and the vendored reveal.js.

A wheel carries ``templates/`` and ``decks/`` inside the package
(``deckgen/templates``, ``deckgen/decks``); a source checkout or an editable
install reads them from the top of the checkout. reveal.js is always inside the
package, in ``deckgen/_vendor/reveal.js``, put there by the build (hatch_build.py).
"""

from __future__ import annotations

from pathlib import Path

from deckgen.errors import DeckgenError

REINSTALL_HINT = "reinstall deckgen with `pip install .` (or `pip install -e .` in a checkout) so the build fetches reveal.js"


def _package_dir() -> Path:
    return Path(__file__).resolve().parent


def _data_dir(name: str) -> Path:
    inside = _package_dir() / name
    if inside.is_dir():
        return inside
    checkout = _package_dir().parent
    if (checkout / "pyproject.toml").is_file() and (checkout / name).is_dir():
        return checkout / name
    raise DeckgenError(f"deckgen's {name}/ folder is missing (looked in {inside}); reinstall deckgen with `pip install .`.")


def templates_dir() -> Path:
    """The Jinja2 templates folder."""
    return _data_dir("templates")


def decks_dir() -> Path:
    """The example deck configs (TOML), with their ``data/`` folder."""
    return _data_dir("decks")


def default_deck() -> Path:
    """The deck config used when none is given: Trask's 3-4-1 network."""
    return decks_dir() / "trask.toml"


def reveal_dir() -> Path:
    """The vendored reveal.js: ``dist/``, ``css/theme/fonts/``, ``LICENSE`` and ``VERSION``."""
    path = _package_dir() / "_vendor" / "reveal.js"
    if not (path / "VERSION").is_file() or not (path / "dist" / "reveal.js").is_file():
        raise DeckgenError(f"reveal.js is missing from {path}: {REINSTALL_HINT}.")
    return path


def reveal_version() -> str:
    """The vendored reveal.js version, e.g. ``"6.0.2"``."""
    return (reveal_dir() / "VERSION").read_text(encoding="utf-8").strip()
