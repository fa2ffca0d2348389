"""Rendering: user templates come first, themes stay offline, wording is Markdown, user text is escaped."""

from __future__ import annotations

import re

import numpy as np
import pytest

from deckgen.core.activations import ACTIVATIONS
from deckgen.core.trace import load_trace
from deckgen.pipeline import build
from deckgen.config import load_config
from deckgen.render.assets import offline_css
from deckgen.render.figures import activation_figure
from deckgen.story.curves import AXES, SIZE, frame
from deckgen.story.views import show

SHORT = ["training.iterations=300", "deck.checkpoints=100"]


def test_user_templates_override_blocks_and_assets(tmp_path):
    mine = tmp_path / "mine"
    (mine / "slides").mkdir(parents=True)
    (mine / "assets").mkdir()
    (mine / "slides" / "curve.html").write_text(
        '{% extends "slide.html" %}{% block heading %}Our own curve title{% endblock %}'
        '{% block body %}<img class="figure" src="{{ slide.ctx.figure }}" alt="curve">{% endblock %}'
        '{% block notes %}Say *something* nice.{% endblock %}')
    (mine / "assets" / "deck.css").write_text("/* my deck.css */\n")
    cfg = load_config(None, SHORT + [f'deck.templates="{mine}"'])
    out = tmp_path / "deck"
    build(cfg, out)
    html = (out / "index.html").read_text()
    assert "<h2>Our own curve title</h2>" in html
    assert "<em>something</em>" in html          # notes are Markdown, rendered at build time
    assert (out / "assets" / "deck.css").read_text() == "/* my deck.css */\n"


def test_every_slide_has_speaker_notes(tmp_path):
    out = tmp_path / "deck"
    build(load_config(None, SHORT), out)
    html = (out / "index.html").read_text()
    sections = re.findall(r"<section .*?</section>", html, re.S)
    assert sections
    for section in sections:
        notes = re.search(r'<aside class="notes">(.*?)</aside>', section, re.S)
        assert notes and len(re.sub(r"<[^>]+>", "", notes.group(1)).strip()) > 40, section[:80]


def test_formulas_are_mathml_not_latex(tmp_path):
    out = tmp_path / "deck"
    build(load_config(None, SHORT), out)
    html = (out / "index.html").read_text()
    assert html.count("<math") > 20
    assert "\\cdot" not in html and "\\frac" not in html
    assert 'class="tex-weight"' in html  # matrix symbols carry their role colour


def test_remote_font_imports_are_dropped():
    css = '@import url(https://fonts.example/css?family=Lato);\n@import "https://x/y.css";\nbody{font-family:"Lato",sans-serif}'
    assert offline_css(css) == 'body{font-family:"Lato",sans-serif}'


@pytest.mark.parametrize("theme", ["black", "simple"])
def test_themes_are_offline(tmp_path, theme):
    out = tmp_path / "deck"
    build(load_config(None, SHORT + [f"deck.theme={theme}"]), out)
    css = (out / "assets" / "reveal" / "theme" / f"{theme}.css").read_text()
    assert not re.search(r"@import|url\(\s*['\"]?(https?:)?//", css)


def test_user_text_is_escaped(tmp_path):
    out = tmp_path / "deck"
    build(load_config(None, SHORT + ['title="<script>alert(1)</script> & <b>bold</b>"']), out)
    html = (out / "index.html").read_text()
    assert "<script>alert(1)" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &amp; &lt;b&gt;bold&lt;/b&gt;" in html


@pytest.mark.parametrize("body, line, what", [
    ('{% extends "slide.html" %}{% block body %}{{ oops( {% endblock %}', 1, "template syntax error"),
    ('{% extends "slide.html" %}\n{% block body %}\n{{ slide.ctx.nosuch.thing }}\n{% endblock %}', 3, "no attribute 'nosuch'"),
])
def test_a_broken_user_template_is_one_clear_line(tmp_path, capsys, body, line, what):
    from deckgen.commands.cli import main

    mine = tmp_path / "mine" / "slides"
    mine.mkdir(parents=True)
    (mine / "matmul.html").write_text(body)
    code = main(["build", "--templates", str(mine.parent), "-o", str(tmp_path / "deck"), "-q",
                 "--set", "training.iterations=50"])
    err = capsys.readouterr().err
    assert code == 2
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert f"{mine / 'matmul.html'}:{line}: " in err and what in err
    assert not (tmp_path / "deck").exists()


def test_a_missing_templates_folder_in_the_deck_file_is_reported(tmp_path):
    from deckgen.errors import ConfigError

    deck = tmp_path / "talk.toml"
    deck.write_text('[deck]\ntemplates = "mine"\n')
    with pytest.raises(ConfigError) as info:
        load_config(deck)
    assert f"{deck}:2" in str(info.value) and "no such folder" in str(info.value)


# --------------------------------------------------------------------------- activation curves

def test_each_activation_curve_is_drawn_once_and_every_iteration_marks_its_sums_over_it(tmp_path):
    out = tmp_path / "deck"
    build(load_config(None, SHORT + ["deck.explain=[0, 1, 2]", "network.activation=tanh"]), out)
    assert sorted(p.name for p in (out / "figures").iterdir()) == ["mae.svg", "sigmoid-slope.svg", "sigmoid.svg",
                                                                 "tanh-slope.svg", "tanh.svg"]
    html = (out / "index.html").read_text()
    trace = load_trace(out)
    left, bottom, w, h = AXES
    width, height = SIZE[0] * 72, SIZE[1] * 72
    for t in (0, 1, 2):
        for k, act in ((1, "tanh"), (2, "sigmoid")):
            section = re.search(rf'<section id="t{t}-f{k}".*?</section>', html, re.S).group(0)
            assert f'src="figures/{act}.svg"' in section
            assert f'viewBox="0 0 {width:g} {height:g}"' in section
            marks = re.findall(r'<circle class="point" cx="([\d.]+)" cy="([\d.]+)"', section)
            assert len(marks) == trace.get(f"z{k}", t).size   # one per weighted sum, none beyond the plot here
            for cx, cy in marks:
                assert left * width <= float(cx) <= (left + w) * width
                assert (1 - bottom - h) * height <= float(cy) <= (1 - bottom) * height
            shown = re.findall(r'data-trace="(z\d@\d+:\d+,\d+)"(?: data-precision="(\d)")?>([^<]+)<', section)
            decimals = {int(p or 3) for _, p, _ in shown}    # the decimals of the z matrix, as on its own slide
            assert len(decimals) == 1
            assert sorted(text for _, _, text in shown) == sorted({show(trace.get(f"z{k}", t).min(), *decimals),
                                                                   show(trace.get(f"z{k}", t).max(), *decimals)})


@pytest.mark.parametrize("activation", ["sigmoid", "tanh", "relu"])
def test_points_sit_where_matplotlib_draws_the_same_data(activation):
    """The overlay's positions equal matplotlib's own data-to-SVG mapping of the drawn figure."""
    plot = frame(activation)
    fig = activation_figure(plot.spec("figures/x.svg"))
    fig.set_dpi(72)   # SVG units: 72 per inch
    ax = fig.axes[0]
    z = np.array([-7.5, -1.0, 0.0, 0.3, 2.0, 7.9])
    points = plot.points(z)
    f = ACTIVATIONS[activation].curve
    for value, point in zip(z, points):
        x, y = ax.transData.transform((value, f(value)))
        assert float(point.x) == pytest.approx(x, abs=0.006)
        assert float(point.y) == pytest.approx(plot.height - y, abs=0.006)
        assert not point.beyond


def test_sums_beyond_the_plot_are_drawn_at_its_edge_and_marked():
    plot = frame("relu")
    inside, below, above, far = plot.points(np.array([1.0, -50.0, 50.0, np.inf]))
    assert not inside.beyond and below.beyond and above.beyond and far.beyond
    low, high = plot.points(np.array(plot.x))
    assert (below.x, below.y) == (low.x, low.y) and not low.beyond
    assert (above.x, above.y) == (far.x, far.y) == (high.x, high.y) and not high.beyond
    assert len(plot.points(np.array([np.nan, 0.0]))) == 1


def test_the_slope_slide_derives_the_slope_and_marks_the_sums_on_it(tmp_path):
    """Before the first delta slide of each activation: its derivative worked out, plotted, with the sums marked."""
    import numpy as np

    out = tmp_path / "deck"
    build(load_config(None, SHORT), out)
    html = (out / "index.html").read_text()
    section = re.search(r'<section id="t0-slope2".*?</section>', html, re.S).group(0)
    assert 'src="figures/sigmoid-slope.svg"' in section and "The largest slope is 0.25, at z = 0" in section
    trace = load_trace(out)
    z = trace.get("z2", 0)
    slopes = np.exp(-z) / (1 + np.exp(-z)) ** 2
    assert len(re.findall(r'<circle class="point', section)) == z.size
    low, high = re.search(r"have slopes from ([\d.]+) to ([\d]+\.[\d]+)", section).groups()
    assert float(low) == pytest.approx(slopes.min(), abs=5e-4) and float(high) == pytest.approx(slopes.max(), abs=5e-4)
    ids = re.findall(r'<section id="(t0-[^"]+)"', html)
    assert ids.index("t0-slope2") + 1 == ids.index("t0-d2")
