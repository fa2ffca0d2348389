"""Every string a user gives stays text: in HTML, inside SVG, through Markdown, in a real browser."""

from __future__ import annotations

import csv
import html
import json
import re
from pathlib import Path

import pytest
from markupsafe import escape

from deckgen.commands.cli import main

SCRIPT = "<script>window.__pwned = 'script'</script>"
IMG = "<img src=x onerror=window.__pwned='img'>"
COLUMNS = [IMG, "size", SCRIPT, "q\"uote's & amp", "![p](http://127.0.0.1:9/p.png) {{ 7*7 }}", "species"]
CLASSES = ["</td><script>window.__pwned='class'</script>", "<svg onload=window.__pwned='svg'>",
           "*md* [link](http://127.0.0.1:9/l) ![i](http://127.0.0.1:9/i.png)"]
TITLE = "</title><script>window.__pwned='title'</script><b onmouseover=alert(1)>deck</b>"
HOSTILE = [IMG, SCRIPT, *CLASSES[:2], TITLE]  # live HTML if a template let them through


@pytest.fixture(scope="module")
def hostile_deck(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("hostile")
    with open(folder / "evil.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(COLUMNS)
        for i in range(12):
            writer.writerow([i % 3, i, (i * 7) % 5, i % 2, 11 - i, CLASSES[i % 3]])
    title = json.dumps(TITLE)  # a JSON string is a valid TOML basic string
    (folder / "evil.toml").write_text(
        f'title = {title}\n[data]\ncsv = "evil.csv"\ntarget = ["species"]\n'
        '[network]\nlayers = ["auto", 3, "auto"]\n[training]\nlearning_rate = 0.5\niterations = 200\n'
        "[deck]\ncheckpoints = 100\n", encoding="utf-8")
    out = folder / "deck"
    assert main(["build", str(folder / "evil.toml"), "-o", str(out), "-q"]) == 0
    return out


def test_user_strings_are_escaped_in_the_html(hostile_deck):
    text = (hostile_deck / "index.html").read_text(encoding="utf-8")
    assert "__pwned" in text  # the payloads are there, as text
    for payload in HOSTILE:
        assert payload not in text
    tags = re.findall(r"<script\b[^>]*>", text)
    assert all('src="assets/' in tag for tag in tags[:-1]) and tags[-1] == "<script>"  # only deckgen's own
    assert not re.search(r"<[a-z][^>]*\son\w+\s*=", text, re.IGNORECASE), "an event handler attribute got through"
    assert not re.search(r"<(img|a|iframe|object|embed|svg onload)\b[^>]*(http|javascript:|src=x)", text)
    assert str(escape(IMG)) in text
    assert "{{ 7*7 }}" in html.unescape(text) and ">49<" not in text


def test_names_reach_the_slides_as_the_user_wrote_them(hostile_deck):
    text = html.unescape((hostile_deck / "index.html").read_text(encoding="utf-8"))
    for name in (IMG, SCRIPT, "q\"uote's & amp", *CLASSES):
        assert name in text


def test_the_trace_manifest_is_plain_json(hostile_deck):
    json.loads((hostile_deck / "trace.json").read_text(encoding="ascii"))
    for svg in (hostile_deck / "figures").glob("*.svg"):
        content = svg.read_text(encoding="utf-8")
        assert "<script" not in content and "__pwned" not in content


@pytest.mark.browser
def test_no_script_runs_in_the_browser(hostile_deck, page):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto((hostile_deck / "index.html").as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")
    total = page.evaluate("Reveal.getTotalSlides()")
    for i in range(total):
        page.evaluate(f"Reveal.slide({i})")
        page.hover(".reveal .slides")
    page.wait_for_timeout(300)
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert dialogs == []
    assert page.console_errors == []
    assert all(url.startswith("file://") for url in page.requests), page.requests
    assert page.title() == TITLE
    # shown as text wherever a slide has room for the column (the data slide may cut some to stay readable)
    headers = page.eval_on_selector_all("th[scope=col]", "els => els.map(e => e.textContent)")
    assert IMG in headers and SCRIPT in page.evaluate("document.querySelector('.slides').textContent")
    assert page.eval_on_selector_all("img[src='x'], svg[onload], script:not([src])", "els => els.length") == 1
    labels = page.eval_on_selector_all("#network svg text.node-label", "els => els.map(e => e.textContent)")
    assert IMG in labels
