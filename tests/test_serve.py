"""deckgen serve: served pages, path safety, port choice, and live reload in a real browser."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import socket
from pathlib import Path

import pytest

from deckgen.run.cache import TraceCache
from deckgen.resources import default_deck
from deckgen.run.pages import inject, resolve
from deckgen.run.serve import DevServer

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
                    wait_seconds=2)
    srv.messages = messages
    srv.start()
    try:
        yield srv
    finally:
        srv.stop()


def get(srv: DevServer, raw_path: str, host: str | None = None) -> tuple[int, bytes]:
    """A request with the path sent exactly as given (no client-side normalisation), and ``host`` as Host."""
    conn = http.client.HTTPConnection("127.0.0.1", srv._httpd.server_address[1], timeout=10)
    try:
        conn.putrequest("GET", raw_path, skip_accept_encoding=True, skip_host=host is not None)
        if host is not None:
            conn.putheader("Host", host)
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


def test_an_editors_atomic_save_is_seen_and_rebuilt(server, deck_file):
    """Editors save by writing a new file and renaming it over the old one."""
    version = server.state.version
    text = deck_file.read_text(encoding="utf-8").replace('title = "A neural network, number by number"',
                                                         'title = "Saved by rename"')
    temporary = deck_file.with_name(".talk.toml.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, deck_file)
    state = server.state.wait(version, timeout=60)
    assert state["version"] > version and state["error"] is None
    assert b"Saved by rename" in get(server, "/")[1]
    assert any(m == "Changed: talk.toml" for m in server.messages)
    # the renamed-over file is watched still: a second save by rename is seen too
    version = server.state.version
    temporary.write_text(text.replace("Saved by rename", "Saved again"), encoding="utf-8")
    os.replace(temporary, deck_file)
    assert server.state.wait(version, timeout=60)["error"] is None
    assert b"Saved again" in get(server, "/")[1]


def test_stopping_the_server_ends_the_watchers(deck_file, tmp_path):
    import threading

    srv = DevServer(deck_file, SMALL, port=0, cache=TraceCache(tmp_path / "cache"), echo=lambda m: None)
    srv.start()
    names = {t.name for t in srv._threads if t.is_alive()}
    assert {"deckgen-http", "deckgen-watch", "deckgen-watch-files", "deckgen-watch-folders"} <= names
    srv.stop()
    assert not [t for t in srv._threads if t.is_alive()]
    assert not [t for t in threading.enumerate() if t.name.startswith("deckgen-")]


@pytest.mark.parametrize("host", ["127.0.0.1:{port}", "localhost:{port}", "LocalHost:{port}", "[::1]:{port}"])
def test_requests_addressed_to_this_machine_are_answered(server, host):
    port = server._httpd.server_address[1]
    status, body = get(server, "/", host=host.format(port=port))
    assert status == 200 and b"data-deckgen-live-reload" in body


@pytest.mark.parametrize("host", ["attacker.example:{port}", "attacker.example", "127.0.0.1", "localhost",
                                  "127.0.0.1:{other}", "localhost.:{port}", "127.0.0.2:{port}", "0.0.0.0:{port}",
                                  "[::ffff:127.0.0.1]:{port}", "", "localhost:{port}@attacker.example"])
def test_any_other_host_gets_421_and_no_deck(server, host):
    """DNS rebinding: a page from another name that resolves to 127.0.0.1 must not read the deck."""
    port = server._httpd.server_address[1]
    for path in ("/", "/trace.npz", "/trace.json", "/__deckgen__/state"):
        status, body = get(server, path, host=host.format(port=port, other=port + 1))
        assert status == 421, (host, path)
        assert body.startswith(b"deckgen serves this deck only at http://127.0.0.1:") and len(body) < 200


def test_a_request_without_a_host_or_with_two_gets_421(server):
    port = server._httpd.server_address[1]
    for head in (b"GET / HTTP/1.0\r\n\r\n",
                 b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\nHost: attacker.example\r\n\r\n" % port):
        with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
            sock.sendall(head)
            reply = b""
            while chunk := sock.recv(65536):
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 421 "), reply[:80]
        assert b"<html" not in reply.lower()


def test_a_silent_connection_is_closed_after_the_socket_timeout(deck_file, tmp_path):
    srv = DevServer(deck_file, SMALL, port=0, cache=TraceCache(tmp_path / "cache"), echo=lambda m: None,
                    socket_timeout=0.5)
    srv.start(watch=False)
    try:
        port = srv._httpd.server_address[1]
        with socket.create_connection(("127.0.0.1", port), timeout=60) as silent, \
                socket.create_connection(("127.0.0.1", port), timeout=60) as half:
            half.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1:%d\r\n" % port)   # a request never finished
            assert silent.recv(1) == b""       # the server hung up instead of waiting for ever
            assert half.recv(1) == b""
        assert get(srv, "/")[0] == 200         # and still serves everyone else
    finally:
        srv.stop()


def test_rebuild_after_a_slide_only_change_does_not_train(server, deck_file):
    version = server.state.version
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace(
        'title = "A neural network, number by number"', 'title = "Renamed"'), encoding="utf-8")
    assert server.state.wait(version, timeout=15)["error"] is None
    assert server.state.version > version
    assert server.last_result.trained is False
    assert b"Renamed" in get(server, "/")[1]


def test_the_data_file_and_the_users_templates_are_watched(tmp_path):
    from deckgen.resources import decks_dir

    (tmp_path / "data").mkdir()
    shutil.copy(decks_dir() / "data" / "iris.csv", tmp_path / "data" / "iris.csv")
    shutil.copy(decks_dir() / "iris.toml", tmp_path / "iris.toml")
    mine = tmp_path / "mine" / "slides"
    mine.mkdir(parents=True)
    (mine / "end.html").write_text('<section id="end"><h2>Questions, version 1</h2></section>\n')
    srv = DevServer(tmp_path / "iris.toml", ["training.iterations=200", "deck.checkpoints=[1, 100, 200]",
                                             f'deck.templates="{tmp_path / "mine"}"'],
                    port=0, cache=TraceCache(tmp_path / "cache"), echo=lambda m: None)
    srv.start()
    try:
        assert b"Questions, version 1" in get(srv, "/")[1]
        assert {tmp_path / "iris.toml", tmp_path / "data" / "iris.csv", tmp_path / "mine"} <= set(srv.watched)
        version = srv.state.version
        (mine / "end.html").write_text('<section id="end"><h2>Questions, version 2</h2></section>\n')
        assert srv.state.wait(version, timeout=15)["error"] is None
        assert b"Questions, version 2" in get(srv, "/")[1] and not srv.last_result.trained
        version = srv.state.version
        csv = tmp_path / "data" / "iris.csv"
        csv.write_text(csv.read_text(encoding="utf-8").replace("5.1,3.5,1.4,0.2", "5.9,3.5,1.4,0.2", 1),
                       encoding="utf-8")
        assert srv.state.wait(version, timeout=15)["error"] is None
        assert srv.last_result.trained                    # new data: a new run
    finally:
        srv.stop()


# --------------------------------------------------------------------------- in Chromium

@pytest.mark.browser
def test_live_reload_stays_on_the_slide_and_shows_errors(server, deck_file, page):
    page.goto(server.url)
    page.wait_for_function("() => window.Reveal && Reveal.isReady()")
    # the first slide that shows a weight of iteration 1 (an update slide of the explained iteration)
    target = page.evaluate("() => Array.from(document.querySelectorAll('.slides > section'))"
                           ".findIndex(s => s.querySelector('[data-trace^=\"W1@1\"]'))")
    assert target > 0
    page.evaluate(f"() => Reveal.slide({target})")
    page.wait_for_function(f"() => Reveal.getIndices().h === {target}")
    before = page.evaluate("() => Reveal.getCurrentSlide().querySelector('[data-trace^=\"W1@1\"]').textContent")
    page.evaluate("() => { window.__notReloaded = true; }")

    set_learning_rate(deck_file, "0.25")
    page.wait_for_function("() => !window.__notReloaded && window.Reveal && Reveal.isReady()", timeout=30000)
    assert page.evaluate("() => Reveal.getIndices().h") == target
    after = page.evaluate("() => Reveal.getCurrentSlide().querySelector('[data-trace^=\"W1@1\"]').textContent")
    assert after != before
    assert page.evaluate("() => document.querySelector('[data-deckgen-live-reload]') !== null")

    # A broken config: the overlay shows, the page is not reloaded, the last good deck stays.
    page.evaluate("() => { window.__notReloaded = true; }")
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace("[training]", "[training"), encoding="utf-8")
    page.wait_for_selector("#deckgen-error", state="visible", timeout=30000)
    assert "TOML syntax error" in page.inner_text("#deckgen-error")
    assert page.evaluate(f"() => window.__notReloaded === true && Reveal.getIndices().h === {target}")
    status, body = get(server, "/")
    assert status == 200 and after.encode() in body

    # Fixed again: the page reloads, the overlay is gone, still on the same slide.
    deck_file.write_text(deck_file.read_text(encoding="utf-8").replace("[training\n", "[training]\n"),
                         encoding="utf-8")
    page.wait_for_function("() => !window.__notReloaded && window.Reveal && Reveal.isReady()", timeout=30000)
    assert page.evaluate("() => Reveal.getIndices().h") == target
    assert page.query_selector("#deckgen-error") is None
    assert not [e for e in page.console_errors if "__deckgen__" not in e]


@pytest.mark.parametrize("sig", ["SIGINT", "SIGTERM"])
def test_the_command_stops_cleanly_and_removes_its_temporary_deck(sig, tmp_path):
    import os
    import signal
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[1]
    env = dict(os.environ, PYTHONPATH=str(root), TMPDIR=str(tmp_path), XDG_CACHE_HOME=str(tmp_path / "xdg"))
    proc = subprocess.Popen([sys.executable, "-m", "deckgen", "serve", "--port", "0", *[f"--set={s}" for s in SMALL]],
                            cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.startswith("Built "), line + proc.stderr.read()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line).group(0)
        assert proc.stdout.readline().startswith(f"Serving {url}")
        assert list(tmp_path.glob("deckgen-serve-*"))
        import urllib.request
        assert urllib.request.urlopen(url, timeout=10).status == 200
        proc.send_signal(getattr(signal, sig))
        assert proc.wait(timeout=20) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert "Traceback" not in proc.stderr.read()
    assert not list(tmp_path.glob("deckgen-serve-*"))
