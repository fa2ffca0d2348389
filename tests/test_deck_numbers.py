"""Every number on every slide of the built-in talk is the trace's value at the deck's precision."""

from __future__ import annotations

import re
from collections import Counter

import numpy as np
import pytest

from deckgen.core.trace import load_trace
from deckgen.story.views import fmt, parse_number

from deckhelp import build_deck, parse_address, trace_cells


@pytest.fixture(scope="module")
def default_deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "trask"
    cfg, result = build_deck(out)
    html = (out / "index.html").read_text(encoding="utf-8")
    return cfg, result, html, load_trace(out)


def test_every_data_trace_matches_the_saved_trace(default_deck):
    cfg, _, html, trace = default_deck
    cells = trace_cells(html)
    assert len(cells) > 500
    precision = cfg.deck.precision
    for address, text in cells:
        name, t, row, col = parse_address(address)
        value = trace.value(name, t, row, col)
        assert text == fmt(value, precision), address
        # and the text really is that number, to within the rounding of the precision
        assert abs(parse_number(text) - value) <= 0.5 * 10 ** -precision + 1e-12 or abs(value) < 10 ** -precision


def test_worked_expansions_are_covered(default_deck):
    _, _, html, _ = default_deck
    steps = re.findall(r'<p class="fragment current-visible step"[^>]*>(.*?)</p>', html, re.S)
    assert steps, "no worked steps"
    for step in steps:
        # every operand and the result of an expansion are trace numbers
        assert len(re.findall(r'data-trace="', step)) >= 2, step
    names = Counter(parse_address(a)[0] for a, _ in trace_cells("".join(steps)))
    for name in ("X", "W1", "z1", "a1", "W2", "z2", "a2", "y", "e2", "d2", "e1", "d1", "dW1", "dW2"):
        assert names[name] > 0, f"{name} never appears in a worked expansion"


def test_matmul_expansion_adds_up(default_deck):
    """The first worked cell of z1 really is sum(X[0,k] * W1[k,0]) from the trace."""
    _, _, html, trace = default_deck
    section = re.search(r'<section id="t0-z1".*?</section>', html, re.S).group(0)
    first = re.search(r'<p class="fragment current-visible step"[^>]*>(.*?)</p>', section, re.S).group(1)
    addresses = [a for a, _ in trace_cells(first)]
    assert addresses[-1] == "z1@0:0,0"
    X, W = trace.get("X", 0), trace.get("W1", 0)
    assert addresses[:-1] == [x for k in range(3) for x in (f"X@0:0,{k}", f"W1@0:{k},0")]
    assert trace.value("z1", 0, 0, 0) == pytest.approx(float(X[0] @ W[:, 0]))


def test_slide_count_follows_the_network_depth(default_deck):
    _, result, html, trace = default_deck
    steps = re.findall(r'<section id="t0-([^"]+)"', html)
    L = len(trace.layers) - 1
    # forward: z, f, a per layer; error; output delta; per hidden layer e and d; dW per layer;
    # the slope of sigmoid (one activation); the chain rule for W{L}[0,0] and W1[0,0], gradient descent;
    # update per layer; did the step help
    assert len(steps) == 3 * L + 2 + 1 + 2 * (L - 1) + L + 2 + 1 + L + 1
    assert steps[:4] == ["z1", "f1", "a1", "z2"]
    assert steps[-3:] == ["update-W1", "update-W2", "step"]


def test_checkpoints_and_final_predictions_match_trask(default_deck):
    _, _, html, trace = default_deck
    for t, mae in [(0, 0.4964100319), (10000, 0.0085845257), (50000, 0.0035101226)]:
        assert f'id="checkpoint-{t}"' in html
        assert f'data-trace="mae@{t}:0,0">{fmt(mae, 3)}<' in html
    predictions = re.search(r'<section id="predictions".*?</section>', html, re.S).group(0)
    a = [parse_number(text) for address, text in trace_cells(predictions) if address.startswith("a2@59999")]
    assert np.allclose(a, [0.00260572, 0.99672209, 0.99701711, 0.00386759], atol=5e-4)


def test_deck_is_self_contained(default_deck):
    _, result, html, _ = default_deck
    out = result.out
    for ref in re.findall(r'(?:src|href)="([^"#]+)"', html):
        assert not re.match(r"[a-z]+:", ref), f"external reference {ref}"
        assert (out / ref).is_file(), f"missing {ref}"
    css = (out / "assets/reveal/theme/white.css").read_text()
    assert "@import" not in css and "http" not in re.sub(r"/\*.*?\*/", "", css, flags=re.S).replace("http://www.w3.org", "")
    assert "Reveal.initialize(" in html


def test_the_default_talk_folder_is_light(default_deck):
    """At most 5 MB: the trace holds the iterations shown (and every error), and the last slide says so."""
    _, result, html, trace = default_deck
    size = sum(p.stat().st_size for p in result.out.rglob("*") if p.is_file())
    assert size <= 5 * 2**20, f"{size / 2**20:.1f} MB"
    assert trace.kind == "light" and not trace.complete
    assert trace.kept == (0, 1, 10000, 20000, 30000, 40000, 50000, 59999, 60000)
    assert len(trace.series("mae")) == len(trace.series("loss")) == 60001
    end = re.search(r'<section id="end".*?</section>', html, re.S).group(0)
    assert "<code>trace.npz</code> beside it holds every matrix of 9 of the iterations (those the slides need) and the error of all 60,001." in end
    assert "memory" not in end.lower()
