"""The render stage: Jinja2 templates to HTML, matplotlib figures, reveal.js assets.

Names are imported on first use, so rendering HTML does not pay for importing
matplotlib and drawing does not pay for Jinja2.
"""

from importlib import import_module

_WHERE = {"copy_assets": "assets", "draw_figures": "figures", "make_environment": "env", "render_story": "env"}

__all__ = sorted(_WHERE)


def __getattr__(name: str):
    if name in _WHERE:
        return getattr(import_module(f"{__name__}.{_WHERE[name]}"), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
