"""save_model / load_model / read_metadata on a small test kind: the file layout, the round trip
and one clear line for every bad file (issue 19, "Bad input")."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_kind import TOY, Toy
from toy_kind import toy_model as _toy

from hybridqnn.deploy.kinds import get_kind, kind_of
from hybridqnn.deploy.store import (
    FORMAT_VERSION,
    METADATA_FILE,
    WEIGHTS_FILE,
    load_model,
    read_metadata,
    save_model,
)


def test_round_trip_writes_the_documented_layout(tmp_path):
    path = save_model(_toy(), tmp_path / "m", classes=["a", "b"], row={"method": "toy", "test_accuracy": 0.5},
                      data={"dataset": "digits", "input": {"name": "x", "kwargs": {}}})
    assert sorted(p.name for p in path.iterdir()) == [METADATA_FILE, WEIGHTS_FILE]
    meta = read_metadata(path)
    assert meta["kind"] == "test-toy" and meta["format_version"] == FORMAT_VERSION
    assert meta["classes"] == ["a", "b"] and meta["row"]["test_accuracy"] == 0.5
    assert meta["training"] == {"spins_per_solve": 6}
    assert meta["tensors"] == {"weight": {"shape": [2, 3], "dtype": "float32"}}
    assert meta["class"] == "toy_kind.Toy"
    assert meta["layers"] == [{"op": "linear", "index": 0, "weight_shape": [2, 3], "bits_per_weight": 1.0,
                               "levels": 2, "offset": -1.0, "step": 2.0}]
    back = load_model(path / METADATA_FILE)
    np.testing.assert_array_equal(back.weight, _toy().weight)
    assert back.scale == 0.5
    assert not list(tmp_path.glob(".*tmp")), "the temporary directory is gone"
    from hybridqnn._files import default_mode

    assert (path.stat().st_mode & 0o777) == default_mode(directory=True)  # not mkdtemp's 0o700
    assert all((f.stat().st_mode & 0o777) == default_mode() for f in path.iterdir())


def test_kind_lookup_errors():
    assert kind_of(_toy()) is TOY and get_kind("test-toy") is TOY
    with pytest.raises(TypeError, match="matches no kinds"):
        kind_of(object())
    with pytest.raises(ValueError, match="unknown model kind 'nope'"):
        get_kind("nope")


def test_save_refuses_to_clobber(tmp_path):
    save_model(_toy(), tmp_path / "m")
    with pytest.raises(ValueError, match="already holds a model; pass overwrite=True"):
        save_model(_toy(), tmp_path / "m")
    save_model(Toy(np.zeros((1, 1), np.float32)), tmp_path / "m", overwrite=True)
    assert load_model(tmp_path / "m").weight.shape == (1, 1)
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("x")
    with pytest.raises(ValueError, match="non-empty directory that holds no model"):
        save_model(_toy(), tmp_path / "other", overwrite=True)
    with pytest.raises(TypeError, match="'config.scale' must hold only JSON values"):
        save_model(Toy(np.zeros((1, 1)), scale=object()), tmp_path / "bad")  # type: ignore[arg-type]


def test_no_model_at_path(tmp_path):
    with pytest.raises(ValueError, match=r"no model at .*: the path does not exist"):
        load_model(tmp_path / "missing")
    with pytest.raises(ValueError, match=r"no model at .*has no model.json"):
        load_model(tmp_path)


def _edit(path, **changes):
    meta = json.loads((path / METADATA_FILE).read_text())
    for key, value in changes.items():
        if value is KeyError:
            meta.pop(key)
        else:
            meta[key] = value
    (path / METADATA_FILE).write_text(json.dumps(meta))


def test_newer_format_version_is_refused(tmp_path):
    path = save_model(_toy(), tmp_path / "m")
    _edit(path, format_version=FORMAT_VERSION + 1)
    with pytest.raises(ValueError, match=r"format version 2 by a newer hybridqnn.*upgrade hybridqnn"):
        load_model(path)


def test_shapes_that_do_not_match_the_metadata(tmp_path):
    path = save_model(_toy(), tmp_path / "m")
    _edit(path, tensors={"weight": {"shape": [3, 2], "dtype": "float32"}})
    with pytest.raises(ValueError, match=r"tensor 'weight' has shape \[2, 3\].*says shape \[3, 2\]"):
        load_model(path)
    path = save_model(_toy(), tmp_path / "n")
    _edit(path, config={"shape": [3, 2], "scale": 1.0})
    with pytest.raises(ValueError, match=r"cannot rebuild the test-toy model.*must have shape \[3, 2\]"):
        load_model(path)


def test_unknown_kind_is_never_imported(tmp_path):
    path = save_model(_toy(), tmp_path / "m")
    _edit(path, kind="os.system")
    with pytest.raises(ValueError, match="unknown model kind 'os.system'"):
        load_model(path)


def test_truncated_weights(tmp_path):
    path = save_model(_toy(), tmp_path / "m")
    data = (path / WEIGHTS_FILE).read_bytes()
    (path / WEIGHTS_FILE).write_bytes(data[: len(data) // 2])
    with pytest.raises(ValueError, match="is truncated or not a safetensors file"):
        load_model(path)
    (path / WEIGHTS_FILE).unlink()
    with pytest.raises(ValueError, match="has no weights.safetensors"):
        load_model(path)


@settings(max_examples=60, deadline=None)
@given(data=st.binary(max_size=300), cut=st.integers(0, 400))
def test_fuzzed_files_give_one_clear_line(tmp_path_factory, data, cut):
    """Random bytes as model.json, or a valid one cut short, or random weights: ValueError only."""
    root = tmp_path_factory.mktemp("fuzz")
    path = save_model(_toy(), root / "m")
    good = (path / METADATA_FILE).read_bytes()
    for meta_bytes, weights in ((data, None), (good[:cut], None), (good, data)):
        (path / METADATA_FILE).write_bytes(meta_bytes)
        if weights is not None:
            (path / WEIGHTS_FILE).write_bytes(weights)
        if meta_bytes.strip() == good.strip() and weights is None:  # only the newline cut
            continue
        with pytest.raises(ValueError) as err:
            load_model(path)
        assert "\n" not in str(err.value)


@settings(max_examples=60, deadline=None)
@given(key=st.sampled_from(["format", "format_version", "kind", "class", "config", "classes", "data",
                            "row", "training", "layers", "tensors", "created", "hybridqnn_version"]),
       value=st.one_of(st.none(), st.integers(), st.text(max_size=5), st.lists(st.integers(), max_size=2),
                       st.just(KeyError), st.dictionaries(st.text(max_size=3), st.integers(), max_size=2)))
def test_mutated_metadata_fields(tmp_path_factory, key, value):
    path = save_model(_toy(), tmp_path_factory.mktemp("mut") / "m")
    _edit(path, **{key: value})
    try:
        load_model(path)
    except ValueError as exc:
        assert "\n" not in str(exc)
