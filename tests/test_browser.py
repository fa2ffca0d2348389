"""The built-in talk in a real browser: it starts offline, every slide and fragment is reachable,
nothing leaves the deck folder or the slide, and screenshots are left for a person to look at."""

from __future__ import annotations

import pytest

from deckgen.config import load_config
from deckgen.pipeline import build

pytestmark = pytest.mark.browser

# Boxes of everything visible on the current slide that stick out of the slide area.
OVERFLOW_JS = """
() => {
  const frame = document.querySelector('.reveal .slides').getBoundingClientRect();
  const slide = Reveal.getCurrentSlide();
  const out = [];
  for (const el of slide.querySelectorAll('*')) {
    if (el.closest('aside.notes')) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) continue;
    const tol = 1.5;
    if (r.left < frame.left - tol || r.top < frame.top - tol || r.right > frame.right + tol || r.bottom > frame.bottom + tol) {
      out.push(`${el.tagName.toLowerCase()}.${el.className && el.className.baseVal !== undefined ? el.className.baseVal : el.className} ` +
               `[${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.right)},${Math.round(r.bottom)}] ` +
               `outside [${Math.round(frame.left)},${Math.round(frame.top)},${Math.round(frame.right)},${Math.round(frame.bottom)}]`);
    }
  }
  return out;
}
"""


@pytest.fixture(scope="module")
def deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("browser") / "trask"
    build(load_config(None, ["training.iterations=2000", "deck.checkpoints=500"]), out)
    return out


def open_deck(page, folder):
    page.goto((folder / "index.html").as_uri())
    page.wait_for_function("window.Reveal && Reveal.isReady()")


# Steps through every slide and fragment inside the page, in one call (a round-trip per step
# made walking the deck the slowest part of the suite): [h, f, slide id, CHECK()] at each step,
# measured after deck.js has fitted the slide (it does so in a timeout after each change).
WALK_JS = """
async () => {
  const tick = () => new Promise(resolve => setTimeout(resolve, 0));
  const check = CHECK;
  Reveal.slide(0, 0, -1);
  await tick();
  await tick();
  const steps = [], seen = new Set();
  for (;;) {
    const i = Reveal.getIndices(), f = i.f ?? -1;
    if (seen.has(i.h + ',' + f)) throw new Error(`stuck at ${i.h},${f}`);
    seen.add(i.h + ',' + f);
    steps.push([i.h, f, Reveal.getCurrentSlide().id, check ? check() : null]);
    if (Reveal.isLastSlide() && !Reveal.availableFragments().next) return steps;
    Reveal.next();
    await tick();
    await tick();
  }
}
"""
# Every slide and fragment change takes effect at once, so what is measured is the settled layout.
SETTLED_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"


def walk(page, check: str = "null") -> list[tuple[int, int, str, object]]:
    """(h, f, slide id, result of the JS function ``check``) at every slide and fragment step, in order."""
    return [tuple(step) for step in page.evaluate(WALK_JS.replace("CHECK", check))]


def test_deck_opens_offline_and_steps_to_the_end(page, deck):
    open_deck(page, deck)
    total = page.evaluate("Reveal.getTotalSlides()")
    assert total > 20
    steps = list(walk(page))
    slides = {s[0] for s in steps}
    assert slides == set(range(total))
    assert len(steps) > total  # fragments were stepped through too
    assert page.console_errors == []
    outside = [u for u in page.requests if not u.startswith(deck.as_uri() + "/") and not u.startswith("data:")]
    assert outside == [], outside


@pytest.fixture(scope="module")
def iris_deck(tmp_path_factory):
    from deckgen.resources import decks_dir

    out = tmp_path_factory.mktemp("browser") / "iris"
    build(load_config(decks_dir() / "iris.toml", ["training.iterations=500", "deck.checkpoints=250"]), out)
    return out


@pytest.mark.parametrize("which, size", [("trask", (1280, 720)), ("trask", (1920, 1080)), ("iris", (1280, 720))])
def test_no_slide_content_leaves_the_slide(browser, deck, iris_deck, which, size):
    context = browser.new_context(viewport={"width": size[0], "height": size[1]})
    page = context.new_page()
    try:
        open_deck(page, deck if which == "trask" else iris_deck)
        # measure the settled layout, not elements mid-way through a transition or auto-animation
        page.evaluate("Reveal.configure({ transition: 'none', autoAnimate: false })")
        page.add_style_tag(content=SETTLED_CSS)
        steps = walk(page, OVERFLOW_JS)
        assert len(steps) > 20
        problems = [f"slide {h} ({slide_id}) fragment {f}: {b}" for h, f, slide_id, bad in steps for b in bad[:3]]
        assert problems == []
    finally:
        context.close()


def test_worked_step_highlights_its_cells(page, deck):
    open_deck(page, deck)
    page.evaluate("Reveal.slide(Reveal.getSlides().findIndex(s => s.id === 't0-z1'), 0, -1)")
    page.evaluate("Reveal.nextFragment()")
    page.wait_for_timeout(50)
    marked = page.evaluate("""() => [...Reveal.getCurrentSlide().querySelectorAll('td.hl-cell, td.hl-line')]
        .map(td => td.dataset.cell + (td.classList.contains('hl-cell') ? '!' : ''))""")
    assert "z1:0,0!" in marked
    assert {"X:0,0", "X:0,1", "X:0,2", "W1:0,0", "W1:1,0", "W1:2,0"} <= set(marked)


def test_screenshots_for_a_person(page, deck, artifacts_dir):
    open_deck(page, deck)
    for slide_id, fragments, name in [("t0-z1", 2, "matrix-product"), ("t0-f1", 0, "activation"),
                                      ("t0-a1", 1, "activation-step"), ("curve", 0, "error-curve"),
                                      ("network", 0, "network")]:
        page.evaluate(f"Reveal.slide(Reveal.getSlides().findIndex(s => s.id === '{slide_id}'), 0, -1)")
        for _ in range(fragments):
            page.evaluate("Reveal.nextFragment()")
        page.wait_for_timeout(400)  # let the slide transition finish
        path = artifacts_dir / f"{name}.png"
        page.screenshot(path=str(path))
        assert path.stat().st_size > 10_000


@pytest.mark.parametrize("theme", ["black", "moon"])
def test_other_themes_load_nothing_from_outside(page, tmp_path, theme):
    out = tmp_path / theme
    build(load_config(None, ["training.iterations=200", "deck.checkpoints=100", f"deck.theme={theme}"]), out)
    open_deck(page, out)
    page.evaluate("Reveal.slide(5)")
    page.wait_for_timeout(100)
    assert page.console_errors == []
    assert [u for u in page.requests if not u.startswith(out.as_uri() + "/")] == []


def test_speaker_view_shows_the_notes_offline(browser, deck):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    requests = []
    context.on("request", lambda r: requests.append(r.url))
    try:
        page = context.new_page()
        open_deck(page, deck)
        page.evaluate("Reveal.slide(Reveal.getSlides().findIndex(s => s.id === 't0-z1'))")
        with context.expect_page() as popup:
            page.keyboard.press("s")
        speaker = popup.value
        speaker.wait_for_function("document.body && document.body.innerText.includes('multiply pairwise')", timeout=10_000)
        assert [u for u in requests if not u.startswith(deck.as_uri() + "/") and u != "about:blank"] == []
    finally:
        context.close()
