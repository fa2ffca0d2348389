"""What-if comparison slides: parsing --compare, variant configs, the overlay figure and the table."""

from __future__ import annotations

import re
import tomllib

import pytest
from click.testing import CliRunner

from deckgen.pipeline import build
from deckgen.run.cache import TraceCache
from deckgen.commands.cli import cli
from deckgen.run.variants import compare_override, label_of, split_values, variants_of
from deckgen.config import config_values, load_config
from deckgen.errors import ConfigError
from deckgen.core.trace import load_trace
from deckgen.story.views import fmt

SMALL = ["training.iterations=500", "deck.checkpoints=250"]
TWO = 'deck.compare=[{"training.learning_rate"=0.1}, {"training.learning_rate"=10}]'


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    monkeypatch.delenv("DECKGEN_CACHE_DIR", raising=False)


def section(html: str, slide_id: str) -> str:
    m = re.search(rf'<section id="{slide_id}".*?</section>', html, re.DOTALL)
    assert m, slide_id
    return m.group(0)


def test_split_values_keeps_lists_and_strings_whole():
    assert split_values("0.1,1,10") == ["0.1", "1", "10"]
    assert split_values("[3,4,1],[3,8,1]") == ["[3,4,1]", "[3,8,1]"]
    assert split_values('"a,b",tanh') == ['"a,b"', "tanh"]


def test_compare_option_becomes_one_deck_compare_override():
    text = compare_override(["training.learning_rate=0.1,10", "network.activation=tanh"])
    key, _, value = text.partition("=")
    assert key == "deck.compare"
    assert tomllib.loads(f"v = {value}")["v"] == [
        {"training.learning_rate": 0.1}, {"training.learning_rate": 10}, {"network.activation": "tanh"}]
    assert compare_override([]) is None
    with pytest.raises(ConfigError, match="--compare"):
        compare_override(["training.learning_rate"])


def test_variants_are_validated_configs_that_differ_only_where_asked():
    config = load_config(None, [*SMALL, TWO, "deck.precision=4"])
    low, high = variants_of(config)
    assert (low.index, low.label, high.label) == (1, "learning rate 0.1", "learning rate 10")
    assert low.config.training.learning_rate == 0.1 and high.config.training.learning_rate == 10.0
    assert low.config.training.iterations == 500 and low.config.network == config.network
    assert config_values(low.config)["training.learning_rate"] == 0.1


def test_a_variant_that_repeats_the_talks_run_or_another_variant_is_left_out():
    config = load_config(None, [*SMALL, 'deck.compare=[{"training.learning_rate"=0.1}, {"training.learning_rate"=1},'
                                        ' {"training.learning_rate"=10}, {"training.learning_rate"=0.1}]'])
    assert [(v.index, v.label) for v in variants_of(config)] == [(1, "learning rate 0.1"), (3, "learning rate 10")]
    # "auto" layer sizes and the numbers they resolve to are the same run
    auto = load_config(None, [*SMALL, 'network.layers=["auto", 4, "auto"]',
                              'deck.compare=[{"network.layers"=[3, 4, 1]}, {"network.layers"=[3, 8, 1]}]'])
    assert [v.label for v in variants_of(auto)] == ["layers [3, 8, 1]"]
    # the same data given another way is the same run too
    literal = load_config(None, [*SMALL, 'deck.compare=[{"data.inputs"=[[0,0,1],[0,1,1],[1,0,1],[1,1,1]], '
                                          '"data.targets"=[[0],[1],[1],[0]]}, {"training.seed"=2}]'])
    assert [v.label for v in variants_of(literal)] == ["seed 2"]


def test_compare_with_the_talks_own_value_shows_each_run_once(tmp_path):
    out = tmp_path / "deck"
    result = CliRunner().invoke(cli, ["build", "-o", str(out), "--compare", "training.learning_rate=0.1,1,10",
                                      *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    assert "what-if variants: 2 (2 trained, 0 reused)" in result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    table = section(html, "compare-table")
    labels = re.findall(r'<th scope="row"><span[^>]*>&#9632;</span> ([^<]+)', table)
    assert labels == ["learning rate 1 ", "learning rate 0.1", "learning rate 10"]
    assert re.findall(r'<tr data-variant="(\d)"', table) == ["1", "3"]
    assert "3 training runs that differ only" in section(html, "compare-curves")
    svg = (out / "figures" / "compare.svg").read_text(encoding="utf-8")
    assert "stroke: #1a8a4a" in svg and "stroke: #7b3fa0" not in svg      # three lines, not four


def test_compare_with_only_the_talks_own_value_says_so(tmp_path):
    out = tmp_path / "deck"
    result = CliRunner().invoke(cli, ["build", "-o", str(out), "--compare", "training.learning_rate=1",
                                      *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    assert ("deckgen: warning: every --compare / deck.compare variant trains the same run as this talk, so "
            "there are no what-if slides — give values that differ from the talk's") in result.output
    assert 'id="compare-curves"' not in (out / "index.html").read_text(encoding="utf-8")


def test_variants_that_only_change_slides_are_refused():
    config = load_config(None, [*SMALL, 'deck.compare=[{"deck.theme"="black"}]'])
    with pytest.raises(ConfigError, match="only change the slides"):
        variants_of(config)


def test_a_bad_variant_value_is_reported_with_where_it_came_from():
    with pytest.raises(ConfigError) as err:
        load_config(None, [*SMALL, 'deck.compare=[{"training.learning_rate"=-1}]'])
    assert "variant 1" in str(err.value) and "learning_rate" in str(err.value)


def test_labels_read_well():
    assert label_of({"training.learning_rate": 10.0}) == "learning rate 10"
    assert label_of({"network.layers": [3, 8, 1]}) == "layers [3, 8, 1]"
    assert label_of({"network.bias": True, "training.seed": 2}) == "bias true, seed 2"


def test_two_variants_give_an_overlay_figure_and_a_table(tmp_path):
    cache = TraceCache(tmp_path / "cache")
    result = build(load_config(None, [*SMALL, TWO]), tmp_path / "deck", cache=cache)
    html = (tmp_path / "deck" / "index.html").read_text(encoding="utf-8")
    ids = re.findall(r'<section id="([^"]+)"', html)
    assert ids.index("compare-curves") + 1 == ids.index("compare-table") == ids.index("predictions") - 1
    assert result.slides == len(ids)

    svg = (tmp_path / "deck" / "figures" / "compare.svg").read_text(encoding="utf-8")
    for colour in ("#c0392b", "#1f6fb2", "#1a8a4a"):     # one line per run: the talk and two variants
        assert f"stroke: {colour}" in svg
    assert "learning rate 0.1" in svg or "learning rate 0.1" in html
    assert 'src="figures/compare.svg"' in section(html, "compare-curves")

    table = section(html, "compare-table")
    rows = re.findall(r"<tr( data-variant=\"\d\")?>\s*<th scope=\"row\">(.*?)</tr>", table, re.DOTALL)
    assert [r[0] for r in rows] == ["", ' data-variant="1"', ' data-variant="2"']
    # The talk's own row carries trace addresses that match the deck's trace...
    trace = load_trace(tmp_path / "deck")
    own = rows[0][1]
    t = 499  # T-1: predictions of the last training iteration, as on the predictions slide
    assert f'data-trace="mae@{t}:0,0">{fmt(trace.value("mae", t), 3)}<' in own
    assert f'data-trace="a2@{t}:3,0">{fmt(trace.value("a2", t, 3, 0), 3)}<' in own
    # ...and each variant's numbers are those of the same run built on its own.
    for number, rate in ((1, "0.1"), (2, "10")):
        alone = build(load_config(None, [*SMALL, f"training.learning_rate={rate}"]), tmp_path / f"v{number}",
                      cache=cache)
        assert not alone.trained                                    # the variant's run came from the cache
        vtrace = load_trace(tmp_path / f"v{number}")
        row = rows[number][1]
        assert "data-trace" not in row
        assert f'data-variant="{number}">{fmt(vtrace.value("mae", t), 3)}<' in row
        shown = re.findall(rf'data-variant="{number}">([^<]+)<', row)
        assert shown[1:] == [fmt(vtrace.value("a2", t, r, 0), 3) for r in range(4)]


def test_variants_use_the_cache(tmp_path):
    cache = TraceCache(tmp_path / "cache")
    config = load_config(None, [*SMALL, TWO])
    first = build(config, tmp_path / "a", cache=cache)
    assert [r.trained for r in first.variants] == [True, True]
    second = build(config, tmp_path / "b", cache=cache)
    assert second.trained is False and [r.trained for r in second.variants] == [False, False]
    assert (tmp_path / "a" / "index.html").read_bytes() == (tmp_path / "b" / "index.html").read_bytes()


def test_a_diverging_variant_is_shown_as_such(tmp_path):
    config = load_config(None, ["training.iterations=300", "deck.checkpoints=100",
                                'deck.compare=[{"training.learning_rate"=1e300, "network.activation"="relu"}]'])
    result = build(config, tmp_path / "deck")
    assert result.variants[0].diagnosis["kind"] == "diverged"
    html = (tmp_path / "deck" / "index.html").read_text(encoding="utf-8")
    table = section(html, "compare-table")
    assert 'data-variant="1"' in table
    assert f"diverged at iteration {result.variants[0].diagnosis['iteration']}<" in table


def test_compare_on_the_command_line(tmp_path):
    out = tmp_path / "deck"
    result = CliRunner().invoke(cli, ["build", "-o", str(out), "--compare", "training.learning_rate=0.5,2",
                                      *[f"--set={s}" for s in SMALL]])
    assert result.exit_code == 0, result.output
    assert "what-if variants: 2 (2 trained, 0 reused)" in result.output
    html = (out / "index.html").read_text(encoding="utf-8")
    assert "learning rate 0.5" in html and "learning rate 2" in html
    bad = CliRunner().invoke(cli, ["build", "-o", str(out), "--compare", "training.learning_rat=1,2"])
    assert bad.exit_code == 2 and "did you mean 'training.learning_rate'" in bad.output
