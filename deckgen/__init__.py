"""deckgen: turn a small neural network's training run into a reveal.js talk, number by number."""

__version__ = "0.1.0"
