"""The slide view-models, without rendering: which slides, which cells are worked, truncation."""

from __future__ import annotations


from deckgen.config import load_config
from deckgen.data import load_dataset, resolve_layers
from deckgen.run.traces import train_for
from deckgen.core.diagnose import diagnose
from deckgen.core.kept import checkpoints_of
from deckgen.story import build_story
from deckgen.story.views import MINUS, decimals_for, fmt, parse_number, pick, show


def story_for(*overrides):
    cfg = load_config(None, ["training.iterations=30", "deck.checkpoints=10", *overrides])
    data = load_dataset(cfg)
    trace = train_for(cfg, data, resolve_layers(cfg, data))
    return build_story(cfg, data, trace), trace


def test_fmt_fixed_point_with_true_minus():
    assert fmt(-0.2060, 3) == f"{MINUS}0.206"
    assert fmt(0.5, 0) == "0" and fmt(1.5, 0) == "2"    # halves round to even, as Python's format does
    assert fmt(-0.0004, 3) == "0.000"              # never a negative zero
    assert fmt(0.0, 3) == "0.000"
    assert fmt(-0.0, 3) == "0.000"
    assert fmt(1.5e-05, 3) == "0.000"
    assert fmt(float("nan"), 3) == "NaN"


def test_small_values_get_decimals_to_show_two_significant_digits():
    assert decimals_for([-0.2060, 0.5], 3) == 3
    assert decimals_for([-0.001037, -0.000307, 0.010259], 3) == 5        # a weight change of 0.0003 is not 0.000
    assert show(-0.000307, 5) == f"{MINUS}0.00031"
    assert decimals_for([0.997, 0.0026], 3) == 4
    assert decimals_for([0.997, 0.000031], 3) == 3      # a saturated value far below the rest does not stretch them
    assert show(0.000031, 3) == "3.1\u00d710\u207b\u2075" and parse_number(show(0.000031, 3)) == 3.1e-05
    assert show(-4.2e-9, 6) == f"{MINUS}4.2\u00d710\u207b\u2079"
    assert show(0.0, 5) == "0.00000" and show(-0.0, 3) == "0.000"


def test_a_value_that_rounds_up_to_the_next_power_of_ten_still_gets_two_digits():
    # 0.009539 at 3 decimals reads 0.010: a different number whose zero only looks significant
    assert decimals_for([0.009539], 3) == 4 and show(0.009539, 4) == "0.0095"
    assert decimals_for([0.0996], 3) == 3                                  # 0.100 is 0.0996 to two digits
    assert decimals_for([1e-9], 3) == 3                 # beyond six decimals: scientific form, not more decimals
    assert decimals_for([0.5], 8) == 8


def test_pick_keeps_first_and_last_with_an_ellipsis():
    assert pick(4, 8) == [0, 1, 2, 3]
    assert pick(150, 5) == [0, 1, 2, 3, None, 149]
    assert pick(10, 8, (2, 5)) == [None, 2, None, 5, None]


def test_a_calculation_slide_works_a_few_cells_by_default_and_every_cell_on_request():
    story, _ = story_for()
    calc = [s for s in story.slides if s.worked]
    assert calc and all(len(s.worked) <= 3 and not s.worked_at_once for s in calc)   # a few key presses each
    z1 = next(s for s in story.slides if s.id == "t0-z1")
    assert len(z1.worked) == 3 and z1.worked_total == 16 and z1.worked_cut
    story, _ = story_for("deck.worked_cells=16", "deck.worked_at_once=true")
    z1 = next(s for s in story.slides if s.id == "t0-z1")
    assert len(z1.worked) == 16 == z1.worked_total and z1.worked_at_once
    assert all(s.worked_at_once for s in story.slides if s.worked)
    first = z1.worked[0]
    assert first.target == "z1:0,0" and first.rows == ("X:0",) and first.cols == ("W1:0",)
    assert [t.trace for t in first.tokens if t.trace][-1] == "z1@0:0,0"


def test_large_products_work_a_subset_and_say_so():
    story, _ = story_for("network.layers=[3,12,1]", "deck.worked_cells=5", "deck.max_cols=6")
    z1 = next(s for s in story.slides if s.id == "t0-z1")
    assert len(z1.worked) == 5 and z1.worked_total == 48
    W1 = z1.matrices[1]
    assert W1.truncated and W1.shape == "3 \u00d7 12"
    assert len(W1.rows[0]) == 7 and W1.rows[0][5] is None  # 5 columns, an ellipsis, the last column
    shown = {c.cell for row in z1.matrices[2].rows for c in row if c}
    assert all(w.target in shown for w in z1.worked), "a worked cell must be visible to be highlighted"


def test_transposed_operands_keep_trace_coordinates():
    story, trace = story_for()
    dW1 = next(s for s in story.slides if s.id == "t0-dW1")
    Xt = dW1.matrices[0]
    assert Xt.transposed and Xt.shape == "3 \u00d7 4"
    assert Xt.rows[0][1].trace == "X@0:1,0"


def test_step_order_for_two_hidden_layers():
    story, _ = story_for("network.layers=[3,4,3,1]")
    ids = [s.id[3:] for s in story.slides if s.id.startswith("t0-")]
    assert ids == ["z1", "f1", "a1", "z2", "f2", "a2", "z3", "f3", "a3", "e3", "slope3", "d3", "e2", "d2", "e1", "d1",
                   "dW1", "dW2", "dW3", "chain-W3-0-0", "chain-W1-0-0", "descent", "update-W1", "update-W2",
                   "update-W3", "step"]


def test_biases_add_their_own_steps():
    story, _ = story_for("network.bias=true")
    ids = [s.id[3:] for s in story.slides if s.id.startswith("t0-")]
    assert "db1" in ids and "update-b2" in ids
    z1 = next(s for s in story.slides if s.id == "t0-z1")
    assert any(t.trace.startswith("b1@0") for t in z1.worked[0].tokens)


def test_trask_names_label_the_matrices():
    story, _ = story_for("deck.trask_names=true")
    z1 = next(s for s in story.slides if s.id == "t0-dW2")
    assert [m.trask for m in z1.matrices] == ["l1", "l2_delta", None]


def test_checkpoints_include_the_last_iteration():
    assert checkpoints_of(10000, 60000) == [0, 10000, 20000, 30000, 40000, 50000, 59999]
    assert checkpoints_of([5, 500], 100) == [5, 99]


def test_diagnose_stuck_and_diverged():
    _, trace = story_for()
    assert diagnose(trace)["kind"] == "stuck"       # 30 iterations of the default talk barely move the error
    story, trace = story_for("training.learning_rate=1e300", "network.activation=relu")
    assert trace.stopped_at is not None and trace.stopped_at < 30
    assert diagnose(trace)["kind"] == "diverged"
    assert [s.id for s in story.slides].count("diverged") == 1


def test_every_matrix_cell_shows_its_trace_value_at_the_deck_precision():
    story, trace = story_for("deck.precision=4")
    cells = 0
    for slide in story.slides:
        for m in slide.matrices:
            for row in m.rows:
                for cell in row:
                    if cell is None:
                        continue
                    name, _, rest = cell.trace.partition("@")
                    t, _, rc = rest.partition(":")
                    r, c = map(int, rc.split(","))
                    assert cell.text == show(trace.value(name, int(t), r, c), int(cell.precision or 4)), cell.trace
                    cells += 1
    assert cells > 100


def test_over_the_memory_budget_every_shown_iteration_is_still_there():
    story, trace = story_for("training.memory_budget_mb=0.015", "deck.explain=[0, 7, 29]")
    assert not trace.complete
    assert [s.id for s in story.slides if s.template == "slides/iteration.html"] == ["t0", "t7", "t29"]
    assert any(s.id == "t29-update-W2" for s in story.slides)
    assert story.summary["complete"] is False


def iris_story():
    from deckgen.resources import decks_dir

    cfg = load_config(decks_dir() / "iris.toml", ["training.iterations=300", "deck.checkpoints=100"])
    data = load_dataset(cfg)
    trace = train_for(cfg, data, resolve_layers(cfg, data))
    return build_story(cfg, data, trace), data


def test_csv_decks_show_the_raw_table_and_class_names():
    story, data = iris_story()
    raw = next(s for s in story.slides if s.id == "data-raw").ctx["table"]
    assert raw["header"][-1] == "species" and raw["rows"][0]["cells"][0] == data.raw[0][0]
    assert [r["label"] for r in raw["rows"]][:3] == ["0", "1", "\u22ee"]
    predictions = next(s for s in story.slides if s.id == "predictions")
    classified = predictions.ctx["classified"]
    assert {r["true"] for r in classified["rows"]} == {"setosa", "versicolor", "virginica"}
    assert all(r["output"].trace.startswith("a2@299:") for r in classified["rows"])
    a2 = predictions.matrices[2]
    assert a2.col_labels == ("setosa", "versicolor", "virginica")


def test_worked_steps_say_approximately_when_rounding_shows():
    story, _ = story_for()
    seen = set()
    for slide in (s for s in story.slides if s.template == "slides/update.html"):
        for w in slide.worked:
            nums = [t for t in w.tokens if t.trace]
            sign = next(t.text.strip() for t in w.tokens if t.text.strip() in ("=", "\u2248"))
            exact = show(parse_number(nums[0].text) + parse_number(nums[1].text), int(nums[2].precision or 3)) == nums[2].text
            assert sign == ("=" if exact else "\u2248")
            seen.add(sign)
    assert seen == {"=", "\u2248"}  # both happen in the default talk
