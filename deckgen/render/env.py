"""The Jinja2 environment: template search path, and the filters templates may use.

Templates format and lay out; the filters here only convert text (LaTeX to
MathML, Markdown to HTML). One environment per build, no module-level state.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache
from pathlib import Path

from jinja2 import (Environment, FileSystemLoader, StrictUndefined, TemplateError, TemplateSyntaxError,
                    select_autoescape)
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markupsafe import Markup

from deckgen.errors import ConfigError
from deckgen.resources import templates_dir
from deckgen.story.views import colour_tex, palette

_ROLE_COLOUR = re.compile(r'mathcolor="([a-z]+)"')


def make_environment(user_dirs: list[Path] | tuple[Path, ...] = ()) -> Environment:
    """An environment searching the user's folders first, then the built-in templates."""
    env = Environment(
        loader=FileSystemLoader([str(p) for p in user_dirs] + [str(templates_dir())]),
        autoescape=select_autoescape(["html", "svg", "xml"], default_for_string=True),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    markdown = MarkdownIt("commonmark", {"html": True, "typographer": True}).enable(["table", "replacements", "smartquotes"])

    @lru_cache(maxsize=4096)
    def mathml(tex: str, display: str) -> str:
        # roles become classes, so each theme's CSS colours them (see deck.css .tex-*)
        return _ROLE_COLOUR.sub(r'class="tex-\1"', convert(colour_tex(tex), display=display))

    def math(tex: str) -> Markup:
        """Inline LaTeX -> MathML (drawn natively by the browser)."""
        return Markup(mathml(str(tex), "inline"))

    def mathblock(tex: str) -> Markup:
        return Markup(mathml(str(tex), "block"))

    @lru_cache(maxsize=4096)
    def markdown_html(text: str) -> str:
        # every explained iteration repeats most of its notes word for word
        return markdown.render(textwrap.dedent(text).strip("\n"))

    def md(text: str) -> Markup:
        """Markdown -> HTML. Values inserted into the text were escaped by autoescape already."""
        return Markup(markdown_html(str(text)))

    def mdinline(text: str) -> Markup:
        return Markup(markdown.renderInline(" ".join(str(text).split())))

    def plural(count, word: str, many: str | None = None) -> str:
        """``4 | plural("example")`` -> ``4 examples``; counts may be preformatted (``"60,000"``)."""
        one = str(count).replace(",", "").strip() in ("1", "1.0")
        return f"{count} {word if one else (many or word + 's')}"

    env.filters.update(math=math, mathblock=mathblock, md=md, mdinline=mdinline, plural=plural)
    return env


def render_story(env: Environment, story, *, reveal_version: str, theme_css: str) -> str:
    """The deck's ``index.html`` text. A mistake in a template is reported as one line naming it."""
    try:
        return env.get_template("deck.html").render(story=story, reveal_version=reveal_version,
                                                    theme_css=theme_css, palette=palette(story.theme))
    except TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise ConfigError(f"{where}: template syntax error: {exc.message} — fix the template") from None
    except TemplateError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{_template_line(exc.__traceback__)}: template error: {message} — fix the template "
                           "(slide values are listed in deckgen/story.py)") from None


def _template_line(tb) -> str:
    """``file.html:LINE`` of the innermost template frame in a traceback (Jinja2 maps frames to templates)."""
    where = "templates"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".svg", ".xml")):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
