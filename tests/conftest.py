"""Shared fixtures: headless Chromium through Playwright, and a folder for screenshots.

The browser is Debian's /usr/bin/chromium (Playwright's own browser download is
not used). Without it, or without the playwright package, browser tests skip on
a developer machine but fail under CI (the CI environment variable is set), so
a broken browser setup can never turn into a silently green run.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-quic",
    "--no-first-run",
]
ARTIFACTS_DIR = Path(__file__).resolve().parent / "artifacts"

# Property tests draw the same examples on every run (derandomize): a run that passes here passes
# in CI, and a bug one of them finds is kept as an explicit @example beside it. No example
# database either, so nothing from an earlier run changes what the next one tries.
settings.register_profile("deckgen", derandomize=True, database=None, max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
# HYPOTHESIS_PROFILE=explore: new random examples, for hunting bugs locally (not in CI).
settings.register_profile("explore", settings.get_profile("deckgen"), derandomize=False, max_examples=1000)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "deckgen"))


def _unavailable(reason: str) -> None:
    if os.environ.get("CI", "").lower() not in ("", "0", "false"):
        pytest.fail(f"{reason} (CI is set, so browser tests must run)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser():
    """A headless Chromium shared by the whole session."""
    if not CHROMIUM.exists():
        _unavailable(f"{CHROMIUM} not found (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


@pytest.fixture
def page(browser):
    """A fresh 1280x720 page that records ``page.console_errors`` and ``page.requests`` (every URL asked for)."""
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    page.console_errors = []
    page.requests = []
    page.on("console", lambda msg: page.console_errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: page.console_errors.append(str(exc)))
    page.on("request", lambda request: page.requests.append(request.url))
    try:
        yield page
    finally:
        context.close()


@pytest.fixture
def artifacts_dir() -> Path:
    """``tests/artifacts/`` (git-ignored), for screenshots and PDFs worth looking at after a run."""
    ARTIFACTS_DIR.mkdir(exist_ok=True)
    return ARTIFACTS_DIR


@pytest.fixture(autouse=True, scope="session")
def _private_trace_cache(tmp_path_factory):
    """Keep the test suite's traces out of the user's cache folder (tests may still point it elsewhere)."""
    before = os.environ.get("DECKGEN_CACHE_DIR")
    os.environ["DECKGEN_CACHE_DIR"] = str(tmp_path_factory.mktemp("trace-cache"))
    yield
    if before is None:
        os.environ.pop("DECKGEN_CACHE_DIR", None)
    else:
        os.environ["DECKGEN_CACHE_DIR"] = before


@pytest.fixture(autouse=True, scope="session")
def _figures_in_process():
    """Draw figures in the test process, which has matplotlib loaded already.

    A build's figure worker is a new process that imports matplotlib again: on
    a machine busy with the whole suite that doubles the cost of every build.
    The tests of the worker itself switch it back on (DECKGEN_FIGURE_WORKER=1).
    """
    before = os.environ.get("DECKGEN_FIGURE_WORKER")
    os.environ["DECKGEN_FIGURE_WORKER"] = "0"
    yield
    if before is None:
        os.environ.pop("DECKGEN_FIGURE_WORKER", None)
    else:
        os.environ["DECKGEN_FIGURE_WORKER"] = before
