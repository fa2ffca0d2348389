"""The render stage: Jinja2 templates to HTML (:mod:`~deckgen.render.env`), matplotlib figures
(:mod:`~deckgen.render.figures`, drawn in a worker process where possible), reveal.js assets
(:mod:`~deckgen.render.assets`), and :func:`~deckgen.render.deck.write_deck`, which puts them together."""
