"""The render stage: Jinja2 templates to HTML, matplotlib figures, reveal.js assets."""

from .assets import copy_assets
from .env import make_environment, render_story
from .figures import draw_figures

__all__ = ["copy_assets", "draw_figures", "make_environment", "render_story"]
