"""The Jinja2 environment: template search path, and the filters templates may use.

Templates format and lay out; the filters here only convert text (LaTeX to
MathML, Markdown to HTML). One environment per build, no module-level state.
"""

from __future__ import annotations

import re
import textwrap
from functools import lru_cache
from pathlib import Path

from jinja2 import (Environment, FileSystemBytecodeCache, FileSystemLoader, StrictUndefined,
                    TemplateError, TemplateSyntaxError, select_autoescape)
from latex2mathml.converter import convert
from markdown_it import MarkdownIt
from markupsafe import Markup

from deckgen.errors import ConfigError
from deckgen.resources import templates_dir
from deckgen.story.views import colour_tex, palette

_MARKDOWN_PUNCTUATION = re.compile(r"([\\`*_{}\[\]()#+\-.!|~])")
_ROLE_COLOUR = re.compile(r'mathcolor="([a-z]+)"')

#: The size reveal.js lays each slide out at (and the PDF export's page), in CSS pixels.
SLIDE_WIDTH, SLIDE_HEIGHT = 1280, 720


def make_environment(user_dirs: list[Path] | tuple[Path, ...] = (), compiled: Path | None = None) -> Environment:
    """An environment searching the user's folders first, then the built-in templates.

    ``compiled``: a folder where Jinja2 keeps the templates it compiled (checked
    against each template's source), so the next build loads them instead of
    compiling them again.
    """
    bytecode = None
    if compiled is not None:
        try:
            compiled.mkdir(parents=True, exist_ok=True)
            bytecode = FileSystemBytecodeCache(str(compiled))
        except OSError:      # a read-only or odd cache folder: compile as usual
            bytecode = None
    env = Environment(
        bytecode_cache=bytecode,
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

    def verbatim(text) -> str:
        """A user's text (a column or class name) inside Markdown: its * _ [ ] ( ) and the like stay characters.

        HTML is escaped by autoescape after this; here only Markdown's own
        punctuation is backslash-escaped, so a name can never become a link or an image.
        """
        return _MARKDOWN_PUNCTUATION.sub(r"\\\1", str(text))

    def plural(count, word: str, many: str | None = None) -> str:
        """``4 | plural("example")`` -> ``4 examples``; counts may be preformatted (``"60,000"``)."""
        one = str(count).replace(",", "").strip() in ("1", "1.0")
        return f"{count} {word if one else (many or word + 's')}"

    env.filters.update(math=math, mathblock=mathblock, md=md, mdinline=mdinline, plural=plural, verbatim=verbatim)
    return env


def render_story(env: Environment, story, *, reveal_version: str, theme_css: str) -> str:
    """The deck's ``index.html`` text. A mistake in a template is reported as one line naming it."""
    try:
        return env.get_template("deck.html").render(story=story, reveal_version=reveal_version,
                                                    theme_css=theme_css, palette=palette(story.theme),
                                                    slide_width=SLIDE_WIDTH, slide_height=SLIDE_HEIGHT)
    except TemplateSyntaxError as exc:
        where = f"{exc.filename or exc.name}:{exc.lineno}"
        raise ConfigError(f"{where}: template syntax error: {exc.message} — fix the template") from None
    except TemplateError as exc:
        message = " ".join(str(exc).split())
        raise ConfigError(f"{_template_line(exc.__traceback__)}: template error: {message} — fix the template "
                           "(each slide's values are set in deckgen/story/)") from None
    except RecursionError as exc:   # {% include %} of itself, or macros calling each other without end
        raise ConfigError(f"{_template_line(exc.__traceback__)}: template error: templates include or call "
                          "each other without end — remove the include or call that loops") from None
    except (ArithmeticError, TypeError, ValueError, LookupError, AttributeError) as exc:
        where = _template_line(exc.__traceback__)
        if where == "templates":
            raise       # not raised in a template: a bug in deckgen, keep its traceback
        message = " ".join(f"{exc.__class__.__name__}: {exc}".split())
        raise ConfigError(f"{where}: template error: {message} — fix the expression on that line "
                          "(each slide's values are set in deckgen/story/)") from None


def _template_line(tb) -> str:
    """``file.html:LINE`` of the innermost template frame in a traceback (Jinja2 maps frames to templates)."""
    where = "templates"
    while tb is not None:
        filename = tb.tb_frame.f_code.co_filename
        if filename.endswith((".html", ".svg", ".xml")):
            where = f"{filename}:{tb.tb_lineno}"
        tb = tb.tb_next
    return where
