"""Readable from the back of the room: every number on every slide of the example decks, and of a deck that
`deckgen new` makes from a 30-feature CSV, renders at 18 px or more at 1280x720 with nothing outside the
slide; and audience slides show no commands, config keys or build details (those belong in the notes)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from deckhelp import audience_text
from deckgen.commands.cli import cli
from deckgen.config import load_config
from deckgen.data import load_dataset, resolve_layers
from deckgen.pipeline import build
from deckgen.resources import decks_dir
from deckgen.run.traces import train_for
from deckgen.story.views import Layout

MIN_PX = 18.0

# On every slide in turn, with every fragment shown: the rendered type size of each number (each data-trace
# element, every SVG text, every matrix cell and label, any other text with a digit in it) and what sticks
# out of the slide. A size counts every transform: an HTML element's font-size times every zoom and
# transform on it and above it (reveal.js scales the whole slide), an SVG text's font-size times its
# screen CTM (the viewBox scale included). Figures are images: their ratio of drawn to natural width.
MEASURE_JS = r"""
async () => {
  const tick = () => new Promise(r => setTimeout(r, 0));
  const det = m => Math.sqrt(Math.abs(m.a * m.d - m.b * m.c));
  const scaleOf = el => {
    let s = 1;
    for (let x = el; x && x.nodeType === 1; x = x.parentElement) {
      const cs = getComputedStyle(x);
      s *= parseFloat(cs.zoom) || 1;
      if (cs.transform && cs.transform !== 'none') s *= det(new DOMMatrix(cs.transform));
    }
    return s;
  };
  const size = el => parseFloat(getComputedStyle(el).fontSize) *
    (el instanceof SVGElement ? det(el.getScreenCTM()) : scaleOf(el));
  const shown = el => {
    if (el.closest('aside.notes')) return false;
    const cs = getComputedStyle(el);
    if (cs.display === 'none' || cs.visibility === 'hidden') return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 || r.height > 0;
  };
  const out = [];
  const slides = Reveal.getSlides();
  for (let h = 0; h < slides.length; h++) {
    Reveal.slide(h, 0, -1);
    await tick(); await tick();
    const slide = Reveal.getCurrentSlide();
    slide.querySelectorAll('.fragment').forEach(f => f.classList.add('visible', 'current-fragment'));
    await tick(); await tick();
    const frame = document.querySelector('.reveal .slides').getBoundingClientRect();
    const numbers = new Set([...slide.querySelectorAll('[data-trace], svg text, figure.matrix th, figure.matrix td')]);
    for (const el of slide.querySelectorAll('*')) {
      if (el.closest('math')) continue;
      const own = [...el.childNodes].filter(n => n.nodeType === 3).map(n => n.textContent).join('');
      if (/\d/.test(own)) numbers.add(el);
    }
    const small = [];
    let least = Infinity, traced = Infinity, cells = Infinity;
    for (const el of numbers) {
      if (!shown(el) || !el.textContent.trim()) continue;
      const px = size(el);
      least = Math.min(least, px);
      if (el.hasAttribute('data-trace')) traced = Math.min(traced, px);
      if (el.hasAttribute('data-trace') && el.closest('figure.matrix')) cells = Math.min(cells, px);
      if (px < MIN_PX) small.push(`${el.getAttribute('data-trace') || el.textContent.trim().slice(0, 24)}: ${px.toFixed(1)} px`);
    }
    const figures = [...slide.querySelectorAll('img.figure')].filter(shown).map(img =>
      [img.getAttribute('src'), img.getBoundingClientRect().width / img.naturalWidth]);
    const outside = [];
    for (const el of slide.querySelectorAll('*')) {
      if (!shown(el)) continue;
      const r = el.getBoundingClientRect(), tol = 1.5;
      if (r.left < frame.left - tol || r.top < frame.top - tol || r.right > frame.right + tol || r.bottom > frame.bottom + tol)
        outside.push(`${el.tagName.toLowerCase()} ${el.getAttribute('class') || ''} ` +
                     `[${Math.round(r.left)},${Math.round(r.top)},${Math.round(r.right)},${Math.round(r.bottom)}]`);
    }
    out.push({id: slide.id, least, traced, cells, small, figures, outside});
  }
  return out;
}
""".replace("MIN_PX", str(MIN_PX))
SETTLED_CSS = "*, *::before, *::after { transition: none !important; animation: none !important; }"


def wide_csv(path: Path, features: int = 30, rows: int = 120) -> Path:
    """A CSV like scikit-learn's breast-cancer data: ``features`` measurement columns of very different
    scales and a text class column."""
    rng = np.random.default_rng(7)
    names = [f"measure {i + 1}" if i % 3 else f"worst value of measure {i + 1}" for i in range(features)]
    X = rng.normal(size=(rows, features)) * np.logspace(-3, 3, features) + np.logspace(-2, 3, features)
    label = np.where(X[:, 0] + 0.001 * X[:, -1] > np.median(X[:, 0] + 0.001 * X[:, -1]), "malignant", "benign")
    lines = [",".join(names + ["diagnosis"])]
    lines += [",".join([f"{v:.5g}" for v in X[r]] + [label[r]]) for r in range(rows)]
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture(scope="module")
def decks(tmp_path_factory) -> dict[str, Path]:
    """Every example deck as it ships, the deck `deckgen new` writes for a 30-feature CSV, and a deck with
    what-if slides."""
    root = tmp_path_factory.mktemp("sizes")
    out = {}
    for toml in sorted(decks_dir().glob("*.toml")):
        build(load_config(toml, []), root / toml.stem)
        out[toml.stem] = root / toml.stem
    wide_csv(root / "wide.csv")
    result = CliRunner().invoke(cli, ["new", "wide", "--data", str(root / "wide.csv"), "--dir", str(root)])
    assert result.exit_code == 0, result.output
    build(load_config(root / "wide.toml", ["training.iterations=2000", "deck.checkpoints=1000"]), root / "wide")
    out["wide"] = root / "wide"
    # what-if slides: a table of every run's predictions for a three-class deck
    build(load_config(decks_dir() / "iris.toml", ["training.iterations=1000", "deck.checkpoints=500",
                                                 'deck.compare=[{"training.learning_rate"=0.5}]']), root / "compare")
    out["compare"] = root / "compare"
    return out


def glyph_points(svg: Path) -> float:
    """The smallest type in a matplotlib SVG, in points: its glyphs are paths drawn at ``scale(size/100)``."""
    return min(float(s) * 100 for s in re.findall(r"scale\(([0-9.]+) -[0-9.]+\)", svg.read_text()))


@pytest.fixture(scope="module")
def measured(browser, decks) -> dict[str, list[dict]]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    page = context.new_page()
    out = {}
    try:
        for name, folder in decks.items():
            page.goto((folder / "index.html").as_uri())
            page.wait_for_function("window.Reveal && Reveal.isReady()")
            page.evaluate("Reveal.configure({ transition: 'none', autoAnimate: false })")
            page.add_style_tag(content=SETTLED_CSS)
            out[name] = page.evaluate(MEASURE_JS)
    finally:
        context.close()
    return out


@pytest.mark.browser
def test_every_number_renders_at_18px_or_more(measured, decks):
    problems = []
    for name, slides in measured.items():
        assert len(slides) > 15
        for s in slides:
            problems += [f"{name} {s['id']}: {item}" for item in s["small"][:3]]
            for src, ratio in s["figures"]:
                px = glyph_points(decks[name] / src) * 4 / 3 * ratio
                if px < MIN_PX:
                    problems.append(f"{name} {s['id']}: {src} type renders at {px:.1f} px")
    assert problems == []
    # the measure is of the numbers that are there: the wide deck's calculation slides hold many of them
    assert sum(s["traced"] < 100 for s in measured["wide"]) > 20


@pytest.mark.browser
def test_nothing_leaves_the_slide(measured):
    problems = [f"{name} {s['id']}: {box}" for name, slides in measured.items() for s in slides for box in s["outside"][:3]]
    assert problems == []


@pytest.mark.browser
def test_small_matrices_use_the_room_a_slide_has(measured):
    """The default talk's 4-row matrices are set larger than the smallest size a 30-feature deck needs."""
    cells = {s["id"]: s["cells"] for s in measured["trask"]}
    assert cells["t0-a1"] > 28 and cells["t0-update-W2"] > 28
    assert min(s["cells"] for s in measured["wide"] if s["id"].startswith("t0-")) < 22


# What only a presenter needs: commands, config keys, the build's own bookkeeping.
PRESENTER_ONLY = re.compile(r"--set|\bdeckgen |\b(?:training|deck|network|data)\.[a-z_]+|memory budget|trace\.npz"
                            r"|deck file", re.I)


def test_audience_slides_show_no_commands_or_config_keys(decks):
    found = []
    for name, folder in decks.items():
        for slide, text in audience_text((folder / "index.html").read_text()).items():
            found += [f"{name} {slide}: ...{text[max(0, m.start() - 40):m.end() + 20]}..."
                      for m in PRESENTER_ONLY.finditer(text)]
    assert found == []


def test_the_presenter_only_check_finds_what_it_looks_for():
    html = ('<div class="slides"><section id="a"><p>Try <code>--set training.seed=2</code></p>'
            '<aside class="notes">deckgen build --set deck.precision=4</aside></section>'
            '<section id="b"><p>Memory budget: matrices kept for 7 iterations</p></section>'
            '<section id="c"><p>From the data. Then</p><aside class="notes">memory budget</aside></section>'
            '<section id="d"><p>trace.npz beside it holds every matrix</p></section>'
            '<section id="e"><p>Given in the deck file.</p><aside class="notes">trace.npz</aside></section></div>')
    text = audience_text(html)
    assert [bool(PRESENTER_ONLY.search(text[s])) for s in "abcde"] == [True, True, False, True, True]
    assert "deckgen build" not in text["a"]


# ---------------------------------------------------------------- the layout itself, without a browser

def _trace(*overrides):
    cfg = load_config(None, ["training.iterations=20", "deck.checkpoints=10", *overrides])
    data = load_dataset(cfg)
    return cfg, data, train_for(cfg, data, resolve_layers(cfg, data))


def test_fit_sets_small_matrices_large_and_many_columns_small_but_never_below_the_minimum():
    from deckgen.story.fit import SIZES, Spec, fit, room

    _, _, trace = _trace()
    small = fit(trace, Layout(), [Spec("z1", 0), Spec("a1", 0)], ("\u03c3",), height=room(4))
    assert small.px == SIZES[0] and (small.max_rows, small.max_cols) == (8, 8)
    _, _, wide = _trace("network.layers=[3,40,1]")
    # 40 columns of z1 beside X and W1, with no room for a second line: fewer rows or columns rather than smaller type
    many = fit(wide, Layout(), [Spec("X", 0), Spec("W1", 0), Spec("z1", 0)], ("\u00b7", "="), height=room(8))
    assert SIZES[-1] <= many.px < small.px and (many.max_cols < 8 or many.max_rows < 8)
    shown = many.matrix(wide, "z1", 0)
    assert shown.truncated and shown.px == many.px
    # given room for a second line, the row breaks and shows every column up to deck.max_cols
    roomy = fit(wide, Layout(), [Spec("X", 0), Spec("W1", 0), Spec("z1", 0)], ("\u00b7", "="), height=room(4))
    assert roomy.max_cols == 8


def test_fit_keeps_max_rows_as_the_upper_limit_and_the_chosen_example_rows():
    from deckgen.story.fit import Spec, fit, room

    _, _, trace = _trace()
    lay = fit(trace, Layout(max_rows=3, example_rows=(1, 3)), [Spec("X", 0), Spec("y", 0)], height=room(2))
    view = lay.matrix(trace, "X", 0)
    assert lay.max_rows <= 3 and [label for label in view.row_labels if label != "\u22ee"] == ["1", "3"]


def test_wrapped_names_count_their_lines_and_keep_the_block_width():
    from deckgen.story.fit import header_lines

    assert header_lines("x1", 10) == (2, 1)
    assert header_lines("worst fractal dimension", 10) == (10, 3)
    assert header_lines("compactness error", 10) == (11, 2)


def _boxes_meet(a, b):
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


@pytest.mark.parametrize("layers", ["[3,4,1]", "[3,2,1]", "[3,5,1]", "[3,3,3,1]"])
def test_weight_labels_sit_on_their_own_edge_clear_of_every_other_edge_and_label(layers):
    from deckgen.story.diagram import LABEL_PX, _crosses, diagram

    _, data, trace = _trace(f"network.layers={layers}")
    d = diagram(trace, Layout(), 0, (data.feature_names, (), data.target_names))
    labelled = [e for e in d["edges"] if e["num"]]
    assert len(labelled) >= len(d["edges"]) // 2
    boxes = [(e["bx"], e["by"], e["bx"] + e["bw"], e["by"] + e["bh"]) for e in labelled]
    for e, box in zip(labelled, boxes):
        assert e["bh"] >= LABEL_PX
        assert _crosses(e["x1"], e["y1"], e["x2"], e["y2"], box)           # on its own edge
        assert not any(_crosses(o["x1"], o["y1"], o["x2"], o["y2"], box) for o in d["edges"] if o is not e)
        assert not any(_boxes_meet(box, other) for other in boxes if other is not box)
    assert [n["label"] for n in d["nodes"] if n["role"] == "output"][0].startswith("\u0177")
    assert d["unlabelled"] == len(d["edges"]) - len(labelled)


def test_a_wide_layer_gets_fewer_labels_not_smaller_ones():
    from deckgen.story.diagram import diagram

    _, data, trace = _trace("network.layers=[3,16,1]")
    d = diagram(trace, Layout(), 0, (data.feature_names, (), data.target_names), box=(560, 250))
    assert d["cut"] and all(e["num"] is None for e in d["edges"])
    assert all(n["label"] == "" for n in d["nodes"] if n["role"] == "activation")   # no room inside the nodes
