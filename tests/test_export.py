"""deckgen export: a PDF with one page per slide, and a single HTML file that needs no network."""

from __future__ import annotations

import os
import re
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from deckgen.pipeline import build
from deckgen.commands.cli import cli
from deckgen.config import load_config
from deckgen.errors import DeckgenError
from deckgen.commands.export import (INSTALL_BROWSER, INSTALL_PLAYWRIGHT, export_pdf, export_single_file, find_browser,
                            inline_deck, require_playwright)

SMALL = ["training.iterations=300", "deck.checkpoints=100"]
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and not os.environ.get("CI"),
                                    reason="Chromium is not installed")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("export") / "deck"
    result = build(load_config(None, SMALL), out)
    return out, result.slides


def pdf_pages(path: Path) -> int:
    from pypdf import PdfReader
    return len(PdfReader(str(path)).pages)


@pytest.mark.browser
@needs_chromium
def test_pdf_has_one_page_per_slide(deck, tmp_path):
    out, slides = deck
    pages = export_pdf(out, tmp_path / "talk.pdf", browser=CHROMIUM)
    assert pages == slides
    assert pdf_pages(tmp_path / "talk.pdf") == slides
    assert not list(tmp_path.glob(".*deckgen-tmp"))


@pytest.mark.browser
@needs_chromium
def test_pdf_with_fragments_has_a_page_per_step(deck, tmp_path):
    out, slides = deck
    steps = 0
    for section in re.findall(r"<section\b.*?</section>", (out / "index.html").read_text(encoding="utf-8"),
                              re.DOTALL):
        indices = set(re.findall(r'data-fragment-index="(\d+)"', section))
        steps += len(indices) if indices else len(re.findall(r'class="[^"]*\bfragment\b', section))
    pages = export_pdf(out, tmp_path / "steps.pdf", fragments=True, browser=CHROMIUM)
    assert pdf_pages(tmp_path / "steps.pdf") == pages == slides + steps
    assert steps > 0


@pytest.mark.browser
def test_single_file_renders_every_slide_with_the_network_blocked(deck, tmp_path, page):
    out, slides = deck
    target = tmp_path / "talk.html"
    assert export_single_file(out, target) == []
    url = target.as_uri()
    failed, other = [], []
    page.on("requestfailed", lambda r: failed.append(r.url))

    def only_the_file(route):
        if route.request.url == url:
            route.continue_()
        else:
            other.append(route.request.url)
            route.abort()

    page.route("**/*", only_the_file)
    page.goto(url)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    assert page.evaluate("() => Reveal.getTotalSlides()") == slides
    for i in range(slides):
        page.evaluate(f"() => Reveal.slide({i})")
        state = page.evaluate("""() => {
            const s = Reveal.getCurrentSlide();
            const imgs = Array.from(s.querySelectorAll('img'));
            return {visible: s.getBoundingClientRect().height > 0 && s.textContent.trim().length > 0,
                    images: imgs.length, broken: imgs.filter(i => !i.complete || i.naturalWidth === 0).length};
        }""")
        assert state["visible"] and state["broken"] == 0, (i, state)
    page.wait_for_function("() => document.fonts.status === 'loaded'")
    assert page.evaluate("() => Array.from(document.fonts).some(f => f.status === 'loaded')")
    assert other == [] and failed == []
    assert [u for u in page.requests if not u.startswith("data:")] == [url]
    assert page.console_errors == []


def test_single_file_inlines_every_reference(deck):
    out, _ = deck
    html, missing = inline_deck(out)
    assert missing == []
    assert "<link" not in html and not re.search(r'<script[^>]*\bsrc=', html)
    for attr in re.findall(r'\b(?:src|href)="([^"]*)"', re.sub(r"<script\b.*?</script>", "", html, flags=re.DOTALL)):
        assert attr.startswith(("data:", "#", "http")), attr
    built = (out / "index.html").read_text(encoding="utf-8")   # a figure shown on several slides is inlined on each
    figures = len(list((out / "figures").glob("*.svg")))
    assert html.count('src="data:image/svg+xml;base64,') == built.count('src="figures/') > figures
    assert "font/woff" in html


def test_inlining_follows_css_urls_and_imports(tmp_path):
    (tmp_path / "css").mkdir()
    (tmp_path / "img.png").write_bytes(b"\x89PNG fake")
    (tmp_path / "css" / "inner.css").write_text("p { background: url('../img.png'); }")
    (tmp_path / "css" / "main.css").write_text("@import url(inner.css);\nh1 { color: red; }\n</style>")
    (tmp_path / "app.js").write_text("var s = '</script>'; var c = '<!--';")
    (tmp_path / "index.html").write_text(
        '<html><head><link rel="stylesheet" href="css/main.css"><link rel="icon" href="img.png"></head>'
        '<body style="background:url(img.png)"><img src="img.png" alt=""><a href="other.html">x</a>'
        '<script src="app.js"></script><img src="gone.png"></body></html>')
    html, missing = inline_deck(tmp_path)
    assert missing == ["gone.png"]
    assert html.count("data:image/png;base64,") == 4
    assert "h1 { color: red; }" in html and "<\\/style>" in html
    assert "<\\/script>" in html and "<\\!--" in html
    assert 'href="other.html"' in html                 # a link is not a request until clicked


def test_a_missing_browser_says_what_to_install(monkeypatch):
    monkeypatch.delenv("DECKGEN_BROWSER", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    monkeypatch.setattr("os.access", lambda path, mode: False)
    with pytest.raises(DeckgenError) as err:
        find_browser()
    assert str(err.value) == INSTALL_BROWSER and "apt-get install chromium" in str(err.value)


def test_an_explicit_browser_must_exist(monkeypatch, tmp_path):
    with pytest.raises(DeckgenError, match="--browser"):
        find_browser(tmp_path / "no-such-browser")
    monkeypatch.setenv("DECKGEN_BROWSER", str(tmp_path / "nope"))
    with pytest.raises(DeckgenError, match="DECKGEN_BROWSER"):
        find_browser()


def test_missing_playwright_says_what_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "playwright.sync_api", None)
    with pytest.raises(DeckgenError) as err:
        require_playwright()
    assert str(err.value) == INSTALL_PLAYWRIGHT and "pip install playwright" in str(err.value)


def test_export_cli_errors_are_one_line(tmp_path):
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--pdf", str(tmp_path / "x.pdf"), "--browser", str(tmp_path / "none")])
    assert result.exit_code == 1
    assert result.output.strip().splitlines() == [
        f"deckgen: error: --browser {tmp_path / 'none'}: not an executable browser — give the path of Chromium or Chrome"]
    assert runner.invoke(cli, ["export"]).exit_code == 2            # nothing asked for
    bad = runner.invoke(cli, ["export", "--single-file", "x.html", "--set", "deck.thme=black"])
    assert bad.exit_code == 2 and "did you mean 'deck.theme'" in bad.output


@pytest.mark.browser
@needs_chromium
def test_export_cli_writes_both(tmp_path):
    result = CliRunner().invoke(cli, ["export", "--pdf", str(tmp_path / "t.pdf"), "--single-file",
                                      str(tmp_path / "t.html"), "--browser", str(CHROMIUM),
                                      *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    slides = int(re.search(r"Built (\d+) slides", result.output).group(1))
    assert pdf_pages(tmp_path / "t.pdf") == slides
    assert f"({slides} pages" in result.output and "self-contained" in result.output
    assert not (Path.cwd() / "build" / "trask" / "t.pdf").exists()


def test_an_exported_deck_claims_no_trace_file_beside_it(tmp_path):
    """A single file (or a PDF) travels alone: its last slide says nothing of a trace.npz beside it."""
    result = CliRunner().invoke(cli, ["export", "-q", "--single-file", str(tmp_path / "t.html"),
                                      *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    exported = (tmp_path / "t.html").read_text(encoding="utf-8")
    end = re.search(r'<section id="end".*?</section>', exported, re.S).group(0)
    assert "Every number in this talk comes from one recorded training run." in end
    assert "trace.npz" not in exported
    build(load_config(None, SMALL), tmp_path / "deck")          # the deck folder itself does say it
    assert "<code>trace.npz</code> beside it" in (tmp_path / "deck" / "index.html").read_text(encoding="utf-8")


def test_export_never_overwrites_the_deck_file_or_its_csv(tmp_path):
    """`deckgen export talk.toml --single-file talk.toml` used to replace the deck file with HTML."""
    deck = tmp_path / "talk.toml"
    (tmp_path / "data.csv").write_text("a,b,y\n0,1,1\n1,0,0\n", encoding="utf-8")
    deck.write_text('[data]\ncsv = "data.csv"\ntarget = ["y"]\n[training]\niterations = 30\n[deck]\ncheckpoints = 10\n',
                    encoding="utf-8")
    before = {p.name: p.read_bytes() for p in tmp_path.iterdir()}
    runner = CliRunner()
    for target in ("talk.toml", "data.csv"):
        for extra in ([], ["--force"]):
            result = runner.invoke(cli, ["export", str(deck), "--single-file", str(tmp_path / target), *extra])
            assert result.exit_code == 1, result.output
            lines = result.output.strip().splitlines()
            assert len(lines) == 1 and "which the build reads" in lines[0] and target in lines[0]
    result = runner.invoke(cli, ["export", str(deck), "--pdf", str(deck)])
    assert result.exit_code == 1 and "which the build reads" in result.output
    assert {p.name: p.read_bytes() for p in tmp_path.iterdir()} == before


def test_export_refuses_a_template_and_a_file_it_did_not_write(tmp_path):
    templates = tmp_path / "mine"
    templates.mkdir()
    (templates / "slide.html").write_text("{% extends 'base_slide.html' %}", encoding="utf-8")
    runner = CliRunner()
    result = runner.invoke(cli, ["export", "--single-file", str(templates / "slide.html"), "--templates",
                                 str(templates), *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 1 and "which the build reads" in result.output
    essay = tmp_path / "essay.html"
    essay.write_text("<p>my own page</p>", encoding="utf-8")
    result = runner.invoke(cli, ["export", "--single-file", str(essay), *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 1
    assert result.output.strip() == (f"deckgen: error: --single-file {essay}: exists and was not written by deckgen"
                                     " — choose another file name, or pass --force to replace it")
    assert essay.read_text(encoding="utf-8") == "<p>my own page</p>"
    # its own export is replaced without --force; another file only with it
    ours = tmp_path / "talk.html"
    for _ in range(2):
        result = runner.invoke(cli, ["export", "-q", "--single-file", str(ours), *[f"--set={s}" for s in SMALL]])
        assert result.exit_code == 0, result.output
    result = runner.invoke(cli, ["export", "-q", "--single-file", str(essay), "--force",
                                 *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0 and essay.read_bytes() == ours.read_bytes()


@pytest.mark.browser
@needs_chromium
def test_a_pdf_deckgen_exported_is_recognised_and_still_reads(deck, tmp_path):
    from deckgen.commands.export import written_by_deckgen

    out, slides = deck
    target = tmp_path / "talk.pdf"
    export_pdf(out, target, browser=CHROMIUM)
    assert written_by_deckgen(target) and pdf_pages(target) == slides
    stranger = tmp_path / "other.pdf"
    stranger.write_bytes(target.read_bytes().replace(b"%deckgen export\n", b""))
    assert not written_by_deckgen(stranger)
