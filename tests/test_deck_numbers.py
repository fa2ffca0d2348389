"""Every number on every slide of the built-in talk is the trace's value at the deck's precision."""

from __future__ import annotations

import re
from pathlib import Path
from collections import Counter

import numpy as np
import pytest

from deckgen.core.trace import load_trace
from deckgen.story.views import fmt, parse_number, per_example, show, significant

from deckhelp import build_deck, parse_address, trace_cells, trace_numbers, worked_equations


@pytest.fixture(scope="module")
def default_deck(tmp_path_factory):
    out = tmp_path_factory.mktemp("deck") / "trask"
    cfg, result = build_deck(out)
    html = (out / "index.html").read_text(encoding="utf-8")
    return cfg, result, html, load_trace(out)


def test_every_data_trace_matches_the_saved_trace(default_deck):
    """Each number is its trace value at the deck's precision, or at the ``data-precision`` its matrix needs."""
    cfg, _, html, trace = default_deck
    numbers = trace_numbers(html, cfg.deck.precision)
    assert len(numbers) > 400
    for address, text, decimals in numbers:
        name, t, row, col = parse_address(address)
        value = trace.value(name, t, row, col)
        assert decimals >= cfg.deck.precision, address
        assert text == show(value, decimals), address
        # and the text really is that number: to the rounding of its decimals, or to two significant digits
        assert abs(parse_number(text) - value) <= max(0.5 * 10 ** -decimals, 0.05 * abs(value)) + 1e-12, address


def test_every_weight_change_shows_two_significant_digits(default_deck):
    """The learning is visible: no ΔW reads 0.000 or −0.000."""
    cfg, _, html, trace = default_deck
    changes = [(a, text) for a, text, _ in trace_numbers(html, cfg.deck.precision) if a.startswith("dW")]
    assert len(changes) >= trace.get("dW1", 0).size + trace.get("dW2", 0).size
    for address, text in changes:
        assert significant(text.partition("\u00d7")[0]) >= 2, (address, text)


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


def test_the_rounding_note_stands_only_in_steps_that_say_approximately(default_deck):
    _, _, html, _ = default_deck
    steps = re.findall(r'<p class="fragment current-visible step"[^>]*>(.*?)</p>', html, re.S)
    with_note = [s for s in steps if "numbers on the slide are rounded" in s]
    assert with_note and len(with_note) < len(steps)
    for step in steps:
        says_approx = "\u2248" in re.sub(r'<span class="subset approx">.*?</span>', "", step, flags=re.S)
        assert says_approx == (step in with_note), step
    assert html.count("numbers on the slide are rounded") == len(with_note)     # and nowhere else


def test_the_learning_rate_reads_as_eta(default_deck):
    _, _, html, _ = default_deck
    for k in (1, 2):
        section = re.search(rf'<section id="t0-dW{k}".*?</section>', html, re.S).group(0)
        assert "<mi>&#x003B7;</mi><mo>&#x0003D;</mo><mn>1</mn>" in section     # η = 1 beside the formula
        assert "\u00d7 \u03b7 =" in section
    assert not re.search(r"\u00d7 1 =", html)


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
    for t, mae, text in [(0, 0.4964100319, ">0.496<"), (10000, 0.0085845257, ' data-precision="4">0.0086<'),
                         (50000, 0.0035101226, ' data-precision="4">0.0035<')]:
        assert f'id="checkpoint-{t}"' in html
        assert f'data-trace="mae@{t}:0,0"{text}' in html
    predictions = re.search(r'<section id="predictions".*?</section>', html, re.S).group(0)
    a = [parse_number(text) for address, text in trace_cells(predictions) if address.startswith("a2@59999")]
    assert np.allclose(a, [0.00260572, 0.99672209, 0.99701711, 0.00386759], atol=5e-4)


def test_checkpoints_read_as_one_table_growing_beside_a_morphing_diagram(default_deck):
    _, _, html, trace = default_deck
    checkpoints = [0, 10000, 20000, 30000, 40000, 50000, 59999]
    sections = re.findall(r'<section id="checkpoint-(\d+)"([^>]*)>(.*?)</section>', html, re.S)
    assert [int(t) for t, _, _ in sections] == checkpoints
    for n, (t, attrs, body) in enumerate(sections):
        assert "data-auto-animate" in attrs
        rows = re.findall(r'<tr data-id="checkpoint-row-(\d+)"', body)
        assert [int(r) for r in rows] == checkpoints[: n + 1]           # one row more per checkpoint
        table = re.search(r'<table class="checkpoints">.*?</table>', body, re.S).group(0)
        assert [a for a, _ in trace_cells(table)] == [f"{x}@{c}:0,0" for c in checkpoints[: n + 1] for x in ("mae", "loss")]
        edges = re.findall(r'<line class="edge (pos|neg)" data-id="edge-W(\d)-(\d)-(\d)"', body)
        assert len(edges) == 3 * 4 + 4 * 1
        for sign, k, i, j in edges:     # each edge is drawn with the sign of its weight at that checkpoint
            assert (sign == "pos") == (trace.value(f"W{k}", int(t), int(i), int(j)) >= 0)


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
    """At most 5 MB: the trace holds the iterations shown (and every error), and the last slide's notes say so."""
    _, result, html, trace = default_deck
    size = sum(p.stat().st_size for p in result.out.rglob("*") if p.is_file())
    assert size <= 5 * 2**20, f"{size / 2**20:.1f} MB"
    assert trace.kind == "light" and not trace.complete
    assert trace.kept == (0, 1, 10000, 20000, 30000, 40000, 50000, 59999, 60000)
    assert len(trace.series("mae")) == len(trace.series("loss")) == 60001
    end = re.search(r'<section id="end".*?</section>', html, re.S).group(0)
    body, _, notes = end.partition('<aside class="notes">')
    assert "<code>trace.npz</code> beside it holds every matrix of 9 of the iterations (those the slides need) and the error of all 60,001." in notes
    assert "trace.npz" not in body
    assert "memory" not in end.lower()


EXAMPLES = sorted((Path(__file__).resolve().parent.parent / "decks").glob("*.toml"))


@pytest.fixture(scope="module", params=EXAMPLES, ids=lambda p: p.stem)
def example_deck(request, tmp_path_factory):
    """A shortened run of one example deck: its config, its page and the folder it was built in."""
    out = tmp_path_factory.mktemp("example") / request.param.stem
    cfg, _ = build_deck(out, request.param, "training.iterations=300", "deck.checkpoints=100")
    return cfg, (out / "index.html").read_text(encoding="utf-8"), out


def test_example_decks_show_no_negative_zero_and_true_numbers(example_deck):
    """Shortened runs of every example deck: no "−0.000" anywhere, every trace number at its matrix's decimals."""
    cfg, html, out = example_deck
    assert not re.search(r"[\u2212-]0(\.0+)?(?![.\d])", re.sub(r"<[^>]+>", " ", html)), "negative zero on a slide"
    trace = load_trace(out)
    for address, text, decimals in trace_numbers(html, cfg.deck.precision):
        name, t, row, col = parse_address(address)
        assert text == show(trace.value(name, t, row, col), decimals), address


def test_every_equals_sign_holds_for_the_numbers_as_shown(example_deck):
    """Every ``A op B = C`` a slide shows from shown numbers, worked out again from those numbers as a reader
    would: it gives C at C's decimals (where it does not, the slide writes ``≈``)."""
    _, html, _ = example_deck
    equations = worked_equations(html)
    slides = {slide for slide, *_ in equations}
    assert len(equations) >= 25 and "one-neuron" in slides and any("chain" in s for s in slides), slides
    for slide, line, from_shown, result in equations:
        if "\u00d710" in result:       # two significant digits, 1.5×10⁻⁷
            assert float(f"{from_shown:.1e}") == parse_number(result), (slide, line, from_shown)
        else:
            assert fmt(from_shown, len(result.partition(".")[2])) == result.lstrip("+"), (slide, line, from_shown)


def test_the_minibatch_deck_numbers_are_the_traces_and_of_the_batches_rows(tmp_path):
    """The full mini-batch deck: every number is its trace value, and a per-example matrix at an iteration before
    the last update has only that batch's rows (its ``data-trace`` rows index the matrix as recorded)."""
    out = tmp_path / "minibatch"
    cfg, _ = build_deck(out, Path(__file__).resolve().parent.parent / "decks" / "minibatch.toml")
    html = (out / "index.html").read_text(encoding="utf-8")
    trace = load_trace(out)
    assert trace.batch_size == 2
    numbers = trace_numbers(html, cfg.deck.precision)
    assert len(numbers) > 250
    batch_rows = 0
    for address, text, decimals in numbers:
        name, t, row, col = parse_address(address)
        assert text == show(trace.value(name, t, row, col), decimals), address
        if per_example(name):
            assert row < len(trace.batch_rows(t)), address
            batch_rows += t < trace.iterations
    assert batch_rows > 50
