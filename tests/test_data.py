"""Datasets from the config, and the checks of the network against the data before training."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from deckgen.config import load_config
from deckgen.data import BUILTIN, load_dataset, minimum_kept, recording_bytes, resolve_layers
from deckgen.errors import ConfigError


def config_of(tmp_path: Path, text: str, overrides=()):
    path = tmp_path / "deck.toml"
    path.write_text(text, encoding="utf-8")
    return load_config(path, list(overrides))


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_builtin_datasets(tmp_path, name):
    config = config_of(tmp_path, f'[data]\ndataset = "{name}"\n[network]\nlayers = ["auto", 4, "auto"]\n')
    data = load_dataset(config)
    inputs, targets, description = BUILTIN[name]
    assert data.X.tolist() == inputs and data.y.tolist() == targets
    assert data.description == description
    assert data.feature_names == tuple(f"x{i + 1}" for i in range(len(inputs[0])))
    assert data.target_names == ("y",)
    assert data.rows == tuple(range(4))
    assert resolve_layers(config, data) == (len(inputs[0]), 4, 1)


def test_trask_data_is_the_articles(tmp_path):
    data = load_dataset(load_config(None))
    assert data.X.tolist() == [[0, 0, 1], [0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert data.y.tolist() == [[0], [1], [1], [0]]


def test_literal_data_bias_column_and_two_targets(tmp_path):
    config = config_of(tmp_path, "[data]\ninputs = [[0, 1], [1, 0], [1, 1]]\ntargets = [[1, 0], [0, 1], [1, 1]]\n"
                                 "bias_column = true\n[network]\nlayers = [3, 2, 2]\n")
    data = load_dataset(config)
    assert data.X.tolist() == [[0, 1, 1], [1, 0, 1], [1, 1, 1]]
    assert data.feature_names == ("x1", "x2", "1")
    assert data.target_names == ("y1", "y2")
    assert resolve_layers(config, data) == (3, 2, 2)


def test_shuffle_keeps_inputs_and_targets_together_and_rows_follow_the_file(tmp_path):
    config = config_of(tmp_path, '[data]\ndataset = "trask-2layer"\nshuffle = 5\nrows = [2]\n')
    data = load_dataset(config)
    pairs = {tuple(x): tuple(y) for x, y in zip(data.X.tolist(), data.y.tolist())}
    assert pairs == {(0, 0, 1): (0,), (0, 1, 1): (0,), (1, 0, 1): (1,), (1, 1, 1): (1,)}
    assert data.X.tolist() != BUILTIN["trask-2layer"][0]
    (shown,) = data.rows
    assert data.X[shown].tolist() == [1, 0, 1]  # file row 2, wherever the shuffle put it


def test_rows_past_the_end_are_an_error_naming_the_line(tmp_path):
    config = config_of(tmp_path, "[data]\nrows = [1, 4]\n")
    with pytest.raises(ConfigError) as info:
        load_dataset(config)
    (message,) = info.value.messages
    assert message.startswith(f"{config.source}:2: data.rows: row 4 does not exist (the data has 4 rows")


def test_layer_widths_that_contradict_the_data(tmp_path):
    config = config_of(tmp_path, "[network]\nlayers = [2, 4, 3]\n")
    with pytest.raises(ConfigError) as info:
        resolve_layers(config, load_dataset(config))
    first, second = info.value.messages
    assert first.startswith(f"{config.source}:2: network.layers starts with 2 inputs but the data has 3 input columns")
    assert second.endswith('ends with 3 outputs but the data has 1 target column (y) — use 1 or "auto"')
    config = config_of(tmp_path, "[data]\ninputs = [[0], [1]]\ntargets = [[1, 0], [0, 1]]\n[network]\nlayers = [1, 1]\n")
    with pytest.raises(ConfigError) as info:
        resolve_layers(config, load_dataset(config))
    (message,) = info.value.messages
    assert "network.layers ends with 1 output but the data has 2 target columns (y1, y2)" in message


def test_a_csv_deck_without_layers_takes_its_widths_from_the_data(tmp_path):
    (tmp_path / "d.csv").write_text("a,b,kind\n1,2,p\n2,1,q\n3,3,r\n", encoding="utf-8")
    config = config_of(tmp_path, '[data]\ncsv = "d.csv"\ntarget = ["kind"]\n')
    assert resolve_layers(config, load_dataset(config)) == (2, 4, 3)


def test_the_default_layers_give_trasks_network_and_the_same_trace_key(tmp_path):
    from deckgen.run.cache import training_key

    default = config_of(tmp_path, "")                        # no [network] at all
    shipped = load_config(None, ["network.layers=[3, 4, 1]"])   # the widths written out
    assert default.network.layers == ("auto", 4, "auto") and shipped.network.layers == (3, 4, 1)
    keys = []
    for config in (default, shipped):
        data = load_dataset(config)
        layers = resolve_layers(config, data)
        assert layers == (3, 4, 1)
        keys.append(training_key(config, data, layers))
    assert keys[0] == keys[1]


def test_explicit_weights_are_checked_against_the_resolved_widths(tmp_path):
    config = config_of(tmp_path, '[network]\nlayers = ["auto", 1]\nweights = [[[0.1], [0.2]]]\n')
    with pytest.raises(ConfigError) as info:
        resolve_layers(config, load_dataset(config))
    assert "network.weights has shapes 2x1 but layers [3, 1] need 3x1" in info.value.messages[0]
    ok = config_of(tmp_path, '[network]\nlayers = ["auto", 1]\nweights = [[[0.1], [0.2], [0.3]]]\n')
    assert resolve_layers(ok, load_dataset(ok)) == (3, 1)


def test_the_recording_estimate_matches_a_real_trace(tmp_path):
    from deckgen.run.traces import train_for

    for bias in (False, True):
        config = config_of(tmp_path, f"[network]\nbias = {str(bias).lower()}\n[training]\niterations = 3\n"
                                     "[deck]\ncheckpoints = 1\n")
        data = load_dataset(config)
        layers = resolve_layers(config, data)
        trace = train_for(config, data, layers)
        recorded = sum(trace.get(name, 0).size for name in trace.names() if name not in ("X", "y", "loss", "mae"))
        assert recording_bytes(layers, data.n_examples, bias) == 8 * recorded


def test_minimum_kept_counts_explained_checkpoints_and_last(tmp_path):
    config = config_of(tmp_path, "[training]\niterations = 100\n[deck]\nexplain = [0, 7]\ncheckpoints = 25\n")
    # 0 25 50 75 100 from the checkpoints, 1 7 8 from explain, 99 the last iteration
    assert minimum_kept(config) == 9
    config = config_of(tmp_path, "[training]\niterations = 10000000\n[deck]\ncheckpoints = 1\nmax_slides = 20000000\n")
    assert minimum_kept(config) == 10_000_001


def test_a_run_too_large_for_the_memory_budget_is_refused_before_training(tmp_path):
    text = "[network]\nlayers = [3, 50000, 1]\n[training]\niterations = 100\nmemory_budget_mb = 16\n"
    config = config_of(tmp_path, text)
    with pytest.raises(ConfigError) as info:
        resolve_layers(config, load_dataset(config))
    (message,) = info.value.messages
    assert message.startswith(f"{config.source}:5: training.memory_budget_mb: recording this run needs about ")
    assert "raise training.memory_budget_mb to " in message
    need = int(message.split("raise training.memory_budget_mb to ")[1].split(",")[0])
    fits = config_of(tmp_path, text.replace("= 16", f"= {need}"))
    assert resolve_layers(fits, load_dataset(fits)) == (3, 50000, 1)


def test_a_budget_that_only_fits_the_shown_iterations_is_fine(tmp_path):
    # every iteration would need ~600 MB; the kept ones fit easily
    config = config_of(tmp_path, "[network]\nlayers = [3, 1000, 1]\n[training]\niterations = 10000\n")
    assert resolve_layers(config, load_dataset(config)) == (3, 1000, 1)
    assert np.isfinite(load_dataset(config).X).all()
