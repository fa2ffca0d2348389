"""``deckgen export``: a built deck as a PDF, or as one self-contained HTML file.

PDF: reveal.js lays every slide out as a print page when the deck is opened
with ``?print-pdf`` (told never to split a slide over pages). Headless
Chromium, driven by Playwright, opens the deck, waits until
``Reveal.isReady()`` and until reveal.js reports ``pdf-ready`` or the number of
``.pdf-page`` elements equals the number of slides (with ``fragments``: one
page per fragment step), then prints with the page size the deck's CSS sets. Chromium's bare ``--print-to-pdf`` does not wait and is
flaky on reveal.js decks. The browser is the one on this machine: ``--browser``,
``DECKGEN_BROWSER``, or the first of chromium, chromium-browser, google-chrome
found.

Single file: ``index.html`` with every stylesheet and script inlined, and every
file they or the page refer to (fonts, figures, images) as a ``data:`` URI, so
it opens by double-click with no request at all. ``trace.npz`` is not included;
nothing on the slides loads it.
"""

from __future__ import annotations

import base64
import mimetypes
import os
import re
import shutil
import threading
from pathlib import Path
from urllib.parse import unquote, urlsplit

from deckgen.errors import DeckgenError, OutputError
from deckgen.render.env import SLIDE_HEIGHT, SLIDE_WIDTH
from deckgen.resources import templates_dir

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
BROWSER_PATHS = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome",
                 "/usr/bin/google-chrome-stable", "/snap/bin/chromium",
                 "/Applications/Google Chrome.app/Contents/MacOS/Google Chrome",
                 "/Applications/Chromium.app/Contents/MacOS/Chromium")
INSTALL_BROWSER = ("no Chromium or Chrome found — install one (Debian/Ubuntu: apt-get install chromium), "
                   "or give its path with --browser PATH or DECKGEN_BROWSER")
#: deckgen depends on playwright, so only an environment changed after the install lacks it.
INSTALL_PLAYWRIGHT = ("PDF export needs the playwright package, which deckgen's install brings but this "
                      "environment lacks — pip install playwright (its own browser download is not needed: "
                      "deckgen uses the Chromium on this machine)")
BROWSER_ARGS = ["--disable-gpu", "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--no-first-run"]


# --------------------------------------------------------------------------- where it may write

#: Written into every PDF deckgen exports (a comment, which PDF readers skip), so that it can tell its own.
PDF_MARK = b"%deckgen export\n"
#: Every deck page deckgen writes carries this in its <head>, and so does its single-file export.
HTML_MARK = b'<meta name="generator" content="deckgen">'


def written_by_deckgen(path: Path) -> bool:
    """Whether the file at ``path`` is a PDF or page that deckgen exported (and so may be replaced)."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
            if head.startswith(b"%PDF"):
                f.seek(0, os.SEEK_END)
                f.seek(max(f.tell() - 4096, 0))
                return PDF_MARK in f.read()
    except OSError:
        return False
    return HTML_MARK in head


def build_inputs(config) -> list[Path]:
    """The files and folders a build of ``config`` reads: deck file, CSV, template folders."""
    paths = [config.source, config.data.csv, config.deck.templates, templates_dir()]
    return [Path(p).absolute() for p in paths if p is not None]


def _same_or_inside(path: Path, other: Path) -> bool:
    try:
        if path.exists() and other.exists() and os.path.samefile(path, other):
            return True
    except OSError:
        pass
    resolved, base = path.resolve(), other.resolve()
    return resolved == base or (other.is_dir() and resolved.is_relative_to(base))


def check_target(target: str | os.PathLike, inputs: list[Path], *, force: bool = False,
                 option: str = "the export") -> Path:
    """``target`` as an absolute path, once it is safe to write there.

    Never one of the build's own inputs (the deck file, its CSV, a template),
    even with ``force``; never an existing file that deckgen did not write,
    unless ``force``.
    """
    path = Path(target).absolute()
    for source in inputs:
        if _same_or_inside(path, source):
            what = "a file inside " if source.is_dir() and path.resolve() != source.resolve() else ""
            raise OutputError(f"{option} {target}: is {what}{source}, which the build reads — "
                               "write the export to another file name")
    if path.is_dir():
        raise OutputError(f"{option} {target}: is a folder — give a file name, like talk.pdf or talk.html")
    if path.exists() and not force and not written_by_deckgen(path):
        raise OutputError(f"{option} {target}: exists and was not written by deckgen — "
                           "choose another file name, or pass --force to replace it")
    return path


def _mark_pdf(path: Path) -> None:
    """Put :data:`PDF_MARK` before the last ``startxref`` (a comment there moves no offset)."""
    data = path.read_bytes()
    at = data.rfind(b"startxref")
    if at < 0 or PDF_MARK in data[-4096:]:
        return
    path.write_bytes(data[:at] + PDF_MARK + data[at:])


# --------------------------------------------------------------------------- the browser

def find_browser(explicit: str | os.PathLike | None = None) -> Path:
    """The Chromium or Chrome to print with; a clear error when there is none."""
    given = explicit or os.environ.get("DECKGEN_BROWSER")
    if given:
        path = Path(given).expanduser()
        found = path if path.is_file() else shutil.which(str(given))
        if not found or not os.access(found, os.X_OK):
            source = "--browser" if explicit else "DECKGEN_BROWSER"
            raise DeckgenError(f"{source} {given}: not an executable browser — give the path of Chromium or Chrome")
        return Path(found)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return Path(found)
    for candidate in BROWSER_PATHS:
        if os.access(candidate, os.X_OK):
            return Path(candidate)
    raise DeckgenError(INSTALL_BROWSER)


def require_playwright():
    try:
        from playwright.sync_api import sync_playwright   # heavy (starts a driver): only when printing
    except ImportError:
        raise DeckgenError(INSTALL_PLAYWRIGHT) from None
    return sync_playwright


#: Added before the deck's own scripts run: note when reveal.js has finished the print layout.
_PDF_READY = """
document.addEventListener("DOMContentLoaded", function () {
  if (window.Reveal && Reveal.on) Reveal.on("pdf-ready", function () { window.__deckgenPdfReady = true; });
});
"""


def export_pdf(deck: str | os.PathLike, pdf: str | os.PathLike, *, fragments: bool = False,
               browser: str | os.PathLike | None = None, timeout: float = 120.0) -> int:
    """Print the deck folder ``deck`` to ``pdf``; return the number of pages.

    One page per slide, or with ``fragments`` one page per fragment step. The
    browser runs in a thread of its own: Playwright's sync API refuses a thread
    with an asyncio loop (a notebook, or another Playwright session).
    """
    index = Path(deck).absolute() / "index.html"
    if not index.is_file():
        raise DeckgenError(f"{index}: not found — build the deck first")
    executable = find_browser(browser)
    require_playwright()
    outcome: dict = {}

    def work() -> None:
        try:
            outcome["pages"] = _print_pdf(index, Path(pdf).absolute(), fragments, executable, timeout)
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    worker = threading.Thread(target=work, name="deckgen-pdf")
    worker.start()
    worker.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["pages"]


def _print_pdf(index: Path, pdf: Path, fragments: bool, executable: Path, timeout: float) -> int:
    from playwright.sync_api import Error as PlaywrightError   # heavy: only when printing
    from playwright.sync_api import sync_playwright

    # pdfMaxPagesPerSlide=1: reveal.js would split a slide that is taller than a page (even for a moment,
    # while fonts load) over several pages; one page per slide (or step) is the contract.
    url = (index.as_uri() + "?print-pdf&pdfMaxPagesPerSlide=1"
           + ("" if fragments else "&pdfSeparateFragments=false"))
    pdf.parent.mkdir(parents=True, exist_ok=True)
    ms = timeout * 1000
    try:
        with sync_playwright() as pw:
            chromium = pw.chromium.launch(executable_path=str(executable), args=BROWSER_ARGS)
            try:
                page = chromium.new_page(viewport={"width": SLIDE_WIDTH, "height": SLIDE_HEIGHT})
                page.add_init_script(_PDF_READY)
                page.goto(url, wait_until="load", timeout=ms)
                page.wait_for_function("() => window.Reveal && Reveal.isReady && Reveal.isReady()", timeout=ms)
                total = page.evaluate("() => Reveal.getTotalSlides()")
                # reveal.js says when the print layout is done; without fragments its page count is known
                page.wait_for_function("n => window.__deckgenPdfReady === true"
                                       " || (n > 0 && document.querySelectorAll('.pdf-page').length === n)",
                                       arg=0 if fragments else total, timeout=ms)
                page.evaluate("() => document.fonts.ready.then(() => true)")
                page.wait_for_function("() => Array.from(document.images).every(i => i.complete)", timeout=ms)
                pages = page.evaluate("() => document.querySelectorAll('.pdf-page').length")
                tmp = pdf.with_name(f".{pdf.name}.deckgen-tmp")
                page.pdf(path=str(tmp), prefer_css_page_size=True, print_background=True)
                _mark_pdf(tmp)
                os.replace(tmp, pdf)
            finally:
                chromium.close()
    except PlaywrightError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else exc.__class__.__name__
        raise DeckgenError(f"PDF export with {executable} failed: {first}") from None
    return int(pages)


# --------------------------------------------------------------------------- one file

_URL = re.compile(r"""url\(\s*(?P<q>["']?)(?P<url>[^"')]+)(?P=q)\s*\)""", re.IGNORECASE)
_IMPORT = re.compile(r"""@import\s+(?:url\(\s*)?["']?(?P<url>[^"')\s;]+)["']?\s*\)?[^;]*;""", re.IGNORECASE)
_LINK = re.compile(r"<link\b[^>]*>", re.IGNORECASE)
_SCRIPT = re.compile(r"<script\b(?P<attrs>[^>]*)\bsrc\s*=\s*(?P<q>[\"'])(?P<url>[^\"']*)(?P=q)(?P<rest>[^>]*)>\s*</script>",
                     re.IGNORECASE)
_ATTR = re.compile(r"""(?P<name>\b(?:src|href|data-src|data-background-image|data-background|poster))\s*=\s*"""
                   r"""(?P<q>["'])(?P<url>[^"']*)(?P=q)""", re.IGNORECASE)
_BLOCK = re.compile(r"(<script\b[^>]*>.*?</script\s*>|<style\b[^>]*>.*?</style\s*>)", re.IGNORECASE | re.DOTALL)
_TAG = re.compile(r"""<[a-zA-Z](?:[^>"']|"[^"]*"|'[^']*')*>""")
_STYLE_ATTR = re.compile(r"""\bstyle\s*=\s*(?P<q>["'])(?P<css>.*?)(?P=q)""", re.IGNORECASE | re.DOTALL)


def _local(url: str) -> bool:
    parts = urlsplit(url)
    return not (parts.scheme or parts.netloc or url.startswith(("#", "data:", "//")) or not parts.path)


class _Inliner:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()
        self.missing: list[str] = []

    def file(self, base: Path, url: str) -> Path | None:
        path = (base / unquote(urlsplit(url).path)).resolve()
        if os.path.commonpath([self.root, path]) != str(self.root) or not path.is_file():
            self.missing.append(url)
            return None
        return path

    def data_uri(self, base: Path, url: str) -> str:
        if not _local(url):
            return url
        path = self.file(base, url)
        if path is None:
            return url
        kind = {".woff": "font/woff", ".woff2": "font/woff2", ".ttf": "font/ttf", ".otf": "font/otf",
                ".svg": "image/svg+xml"}.get(path.suffix.lower()) or mimetypes.guess_type(path.name)[0] \
            or "application/octet-stream"
        return f"data:{kind};base64,{base64.b64encode(path.read_bytes()).decode('ascii')}"

    def css(self, text: str, base: Path, depth: int = 0) -> str:
        def imported(m: re.Match) -> str:
            url = m.group("url")
            if not _local(url) or depth > 8:
                return "" if not _local(url) else m.group(0)
            path = self.file(base, url)
            return self.css(path.read_text(encoding="utf-8"), path.parent, depth + 1) if path else ""

        text = _IMPORT.sub(imported, text)
        return _URL.sub(lambda m: f'url("{self.data_uri(base, m.group("url"))}")', text)

    def html(self, text: str) -> str:
        root = self.root

        def link(m: re.Match) -> str:
            tag = m.group(0)
            rel = re.search(r"""\brel\s*=\s*["']?([^"'\s>]+)""", tag, re.IGNORECASE)
            href = re.search(r"""\bhref\s*=\s*(["'])([^"']*)\1""", tag, re.IGNORECASE)
            if not href or not _local(href.group(2)):
                return tag
            if rel and rel.group(1).lower() == "stylesheet":
                path = self.file(root, href.group(2))
                if path is None:
                    return tag
                css = self.css(path.read_text(encoding="utf-8"), path.parent)
                return "<style>" + re.sub(r"</(style)", r"<\\/\1", css, flags=re.IGNORECASE) + "</style>"
            return tag[: href.start(2)] + self.data_uri(root, href.group(2)) + tag[href.end(2):]

        def script(m: re.Match) -> str:
            if not _local(m.group("url")):
                return m.group(0)
            path = self.file(root, m.group("url"))
            if path is None:
                return m.group(0)
            code = path.read_text(encoding="utf-8")
            code = re.sub(r"</(script)", r"<\\/\1", code, flags=re.IGNORECASE).replace("<!--", "<\\!--")
            attrs = (m.group("attrs") + m.group("rest")).rstrip()
            return f"<script{attrs}>{code}</script>"

        def tag(m: re.Match) -> str:
            t = m.group(0)
            if t[:5].lower() == "<link":
                return link(m)
            t = _ATTR.sub(lambda a: a.group(0) if a.group("name").lower() == "href" else
                          f'{a.group("name")}={a.group("q")}{self.data_uri(root, a.group("url"))}{a.group("q")}', t)
            return _STYLE_ATTR.sub(lambda a: f'style={a.group("q")}{self.css(a.group("css"), root)}{a.group("q")}', t)

        # Script and style blocks are handled whole (their text is not scanned as markup), then every tag.
        out = []
        for piece in _BLOCK.split(text):
            low = piece[:7].lower()
            if low.startswith("<script"):
                out.append(_SCRIPT.sub(script, piece))
            elif low.startswith("<style"):
                head, _, rest = piece.partition(">")
                body, _, tail = rest.rpartition("</")
                out.append(f"{head}>{self.css(body, root)}</{tail}")
            else:
                out.append(_TAG.sub(tag, piece))
        return "".join(out)


def inline_deck(deck: str | os.PathLike) -> tuple[str, list[str]]:
    """``index.html`` of the deck folder with every asset inlined; also the references not found."""
    root = Path(deck)
    index = root / "index.html"
    if not index.is_file():
        raise DeckgenError(f"{index}: not found — build the deck first")
    inliner = _Inliner(root)
    html = inliner.html(index.read_text(encoding="utf-8"))
    return html, sorted(set(inliner.missing))


def export_single_file(deck: str | os.PathLike, target: str | os.PathLike) -> list[str]:
    """Write the deck as one HTML file; return the references that could not be inlined."""
    html, missing = inline_deck(deck)
    target = Path(target).absolute()
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.deckgen-tmp")
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, target)
    return missing
