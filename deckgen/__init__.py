"""deckgen: turn a small neural network's training run into a reveal.js talk, number by number.

The Python API: ``load_config`` (a deck file and ``--set`` overrides -> Config),
``build`` (Config -> deck folder) and ``load_trace`` (a deck folder's trace).
They are imported on first use, so ``import deckgen.core`` stays numpy-only.
"""

__version__ = "0.1.0"

__all__ = ["build", "load_config", "load_trace"]


def __getattr__(name: str):
    if name == "build":
        from deckgen.pipeline import build
        return build
    if name == "load_config":
        from deckgen.pipeline import load
        return load
    if name == "load_trace":
        from deckgen.core.trace import load_trace
        return load_trace
    raise AttributeError(f"module 'deckgen' has no attribute {name!r}")
