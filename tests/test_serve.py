"""deckgen serve: served pages, path safety, port choice, and live reload in a real browser."""

from __future__ import annotations

import http.client
import re
import shutil
import socket
import time
from pathlib import Path

import pytest

from deckgen.cache import TraceCache
from deckgen.resources import default_deck
from deckgen.serve import RELOAD_SCRIPT, DevServer, inject, resolve

SMALL = ("training.iterations=300", "deck.checkpoints=100", "deck.explain=[1]")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DECKGEN_CACHE_DIR", raising=False)


@pytest.fixture
def deck_file(tmp_path) -> Path:
    path = tmp_path / "talk.toml"
    shutil.copy(default_deck(), path)
    return path


@pytest.fixture
def server(deck_file, tmp_path):
    messages: list[str] = []
    srv = DevServer(deck_file, SMALL, port=0, cache=TraceCache(tmp_path / "cache"), echo=messages.append,
                    poll=0.05, debounce=0.1, wait_seconds=2)
    srv.messages = messages
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def get(srv: DevServer, raw_path: str) -> tuple[int, bytes]:
    """A request with the path sent exactly as given (no client-side normalisation)."""
    conn = http.client.HTTPConnection("127.0.0.1", srv._httpd.server_address[1], timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True)
        conn.endheaders()
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def strip_script(html: bytes) -> bytes:
    return re.sub(rb"<script data-deckgen-live-reload>.*?</script>\n", b"", html, flags=re.DOTALL)


def set_learning_rate(deck_file: Path, rate: str) -> None:
    text = deck_file.read_text(encoding="utf-8")
    new = re.sub(r"(?m)^learning_rate = .*$", f"learning_rate = {rate}", text)
    assert new != text
    deck_file.write_text(new, encoding="utf-8")


# --------------------------------------------------------------------------- without a browser

def test_served_index_is_the_built_index_plus_the_script(server):
    status, body = get(server, "/")
    built = (server.root / "index.html").read_bytes()
    assert status == 200
    assert b"data-deckgen-live-reload" in body and b"data-deckgen-live-reload" not in built
    assert strip_script(body) == built
    for rel in ("assets/reveal/reveal.js", "assets/deck.css", "figures/mae.svg", "trace.json"):
        status, body = get(server, "/" + rel)
        assert status == 200 and body == (server.root / rel).read_bytes(), rel


def test_deck_is_built_outside_the_build_folder(server, deck_file):
    assert not (deck_file.parent / "build").exists()
    assert Path.cwd() / "build" not in server.root.parents
    assert server.root.name == "talk" and (server.root / "index.html").is_file()


@pytest.mark.parametrize("path", [
    "/../talk.toml", "/assets/../../talk.toml", "/%2e%2e/talk.toml", "/%2E%2E/%2e%2e/etc/passwd",
    "/assets%2f..%2f..%2ftalk.toml", "/..%2ftalk.toml", "/..%5ctalk.toml", "/assets/%2e%2e/%2e%2e/talk.toml",
    "/.deckgen.json", "/%00", "/nothing-here.html", "/%ff%fe",
])
def test_traversal_and_missing_paths_are_404(server, path):
    assert get(server, path)[0] == 404


def test_resolve_keeps_inside_the_root(tmp_path):
    root = tmp_path / "deck"
    (root / "assets").mkdir(parents=True)
    (root / "index.html").write_text("x")
    (root / "assets" / "a.css").write_text("y")
    (tmp_path / "secret").write_text("z")
    (root / "link").symlink_to(tmp_path / "secret")
    assert resolve(root, "/") == (root / "index.html").resolve()
    assert resolve(root, "/assets/a.css?v=1#x") == (root / "assets" / "a.css").resolve()
    assert resolve(root, "/assets//a.css") == (root / "assets" / "a.css").resolve()
    assert resolve(root, "/link") is None          # a symlink out of the deck
    assert resolve(root, "/../secret") is None
    assert resolve(root, "relative") is None


def test_inject_puts_the_script_before_the_last_body_end():
    html = b"<html><body><p>x</p></body></html>"
    out = inject(html, "<script>s</script>")
    assert out == b"<html><body><p>x</p><script>s</script></body></html>"
    assert inject(b"<p>no body</p>", "S") == b"<p>no body</p>S"


def test_a_taken_port_is_reported_and_the_next_free_one_used(deck_file, tmp_path):
    blocker = socket.socket()
    blocker.bind(("127.0.0.1", 0))
    blocker.listen()
    port = blocker.getsockname()[1]
    errors: list[str] = []
    srv = DevServer(deck_file, SMALL, port=port, cache=TraceCache(tmp_path / "c"), echo=lambda m: None,
                    echo_error=errors.append)
    try:
        srv.start()
        assert srv._httpd.server_address == ("127.0.0.1", srv._httpd.server_address[1])
        assert srv._httpd.server_address[1] != port
        assert any(f"port {port} is in use" in m for m in errors)
    finally:
        srv.stop()
        blocker.close()


def test_failed_rebuild_keeps_the_last_good_deck_and_reports(server, deck_file):
    status, good = get(server, "/index.html")
    version = server.state.version
    deck_file.write_text("this is [not toml\n", encoding="utf-8")
    state = server.state.wait(version, timeout=15)
    assert state["error"] and "TOML syntax error" in state["error"]
    status, body = get(server, "/index.html")
    assert status == 200 and strip_script(body) == strip_script(good)
    assert b"TOML syntax error" in body            # the error travels with the page too
    assert get(server, "/__deckgen__/state")[0] == 200


def test_first_build_failure_fails_fast_or_waits(deck_file, tmp_path):
    deck_file.write_text("title = 3\n", encoding="utf-8")
    from deckgen.errors import ConfigError
    srv = DevServer(deck_file, SMALL, port=0, cache=None, echo=lambda m: None)
    with pytest.raises(ConfigError):
        srv.start(fail_fast=True)
    srv = DevServer(deck_file, SMALL, port=0, cache=None, echo=lambda m: None)
    srv.start()
    try:
        status, body = get(srv, "/")
        assert status == 200 and b"first build failed" in body and b"expected a string" in body
    finally:
        srv.stop()


def test_rebuild_after_a_slide_only_change_does_not_train(server, deck_file, monkeypatch):
    import deckgen.build

    calls = []
    real = deckgen.build.train_for
    monkeypatch.setattr(deckgen.build, "train_for", lambda *a, **k: calls.append(1) or real(*a, **k))
    version = server.state.version
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace(
        'title = "A neural network, number by number"', 'title = "Renamed"'), encoding="utf-8")
    assert server.state.wait(version, timeout=15)["error"] is None
    assert server.state.version > version
    assert calls == []
    assert b"Renamed" in get(server, "/")[1]


# --------------------------------------------------------------------------- in Chromium

@pytest.mark.browser
def test_live_reload_stays_on_the_slide_and_shows_errors(server, deck_file, page):
    page.goto(server.url)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    page.evaluate("() => Reveal.slide(5)")
    page.wait_for_function("() => Reveal.getIndices().h === 5")
    before = page.evaluate("() => Reveal.getCurrentSlide().querySelector('[data-trace^=\"W1@1\"]').textContent")
    page.evaluate("() => { window.__notReloaded = true; }")

    set_learning_rate(deck_file, "0.25")
    page.wait_for_function("() => !window.__notReloaded && window.Reveal && Reveal.isReady()", timeout=30000)
    assert page.evaluate("() => Reveal.getIndices().h") == 5
    after = page.evaluate("() => Reveal.getCurrentSlide().querySelector('[data-trace^=\"W1@1\"]').textContent")
    assert after != before
    assert page.evaluate("() => document.querySelector('[data-deckgen-live-reload]') !== null")

    # A broken config: the overlay shows, the page is not reloaded, the last good deck stays.
    page.evaluate("() => { window.__notReloaded = true; }")
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace("[training]", "[training"), encoding="utf-8")
    page.wait_for_selector("#deckgen-error", state="visible", timeout=30000)
    assert "TOML syntax error" in page.inner_text("#deckgen-error")
    assert page.evaluate("() => window.__notReloaded === true && Reveal.getIndices().h === 5")
    status, body = get(server, "/")
    assert status == 200 and after.encode() in body

    # Fixed again: the page reloads, the overlay is gone, still on slide 5.
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace("[training\n", "[training]\n"),
                         encoding="utf-8")
    page.wait_for_function("() => !window.__notReloaded && window.Reveal && Reveal.isReady()", timeout=30000)
    assert page.evaluate("() => Reveal.getIndices().h") == 5
    assert page.query_selector("#deckgen-error") is None
    assert not [e for e in page.console_errors if "__deckgen__" not in e]
