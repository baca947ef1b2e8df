from __future__ import annotations

import sys
from dataclasses import dataclass

import pytest

from hybridqnn.experiments import (
    Experiment,
    get_experiment,
    list_configs,
    list_experiments,
    load_config,
    params_help,
    register,
)

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

pytestmark = pytest.mark.usefixtures("toy_registry")


def test_load_shipped_config_by_name(toy):
    cfg = load_config("toy")
    assert cfg.name == "toy"
    assert cfg.experiment is toy
    assert cfg.seed == 7
    assert cfg.quick is False
    assert cfg.description == "Toy config."
    assert cfg.params == toy.params(epochs=2, bits=[4])


def test_load_by_path_uses_stem_and_defaults(toy, write_config):
    path = write_config('experiment = "toy"\n', name="mine.toml")
    cfg = load_config(path)
    assert cfg.name == "mine"
    assert cfg.seed == 0
    assert cfg.description == toy.description
    assert cfg.params == toy.params()
    assert load_config(str(path)).params == toy.params()


def test_quick_overrides_apply_only_with_quick():
    assert load_config("toy").params.dataset == "digits"
    cfg = load_config("toy", quick=True)
    assert cfg.quick is True
    assert (cfg.params.epochs, cfg.params.dataset, cfg.params.bits) == (1, "tiny", [4])


def test_unknown_top_level_key_lists_valid_keys(write_config):
    path = write_config('experiment = "toy"\nsed = 1\n')
    with pytest.raises(ValueError) as info:
        load_config(path)
    msg = str(info.value)
    assert "'sed'" in msg and "did you mean 'seed'" in msg
    assert "valid keys: experiment, name, description, seed, params, quick" in msg
    assert "\n" not in msg


@pytest.mark.parametrize("table", ["params", "quick"])
def test_unknown_params_key_lists_valid_keys(write_config, table):
    path = write_config(f'experiment = "toy"\n[{table}]\nepoch = 3\n')
    with pytest.raises(ValueError, match=rf"unknown key 'epoch' in \[{table}\]") as info:
        load_config(path)
    assert "did you mean 'epochs'" in str(info.value)
    assert "valid keys: epochs, lr, dataset, bits, tags" in str(info.value)


def test_wrong_type_names_key_type_and_value(write_config):
    path = write_config('experiment = "toy"\n[params]\nepochs = "3"\n')
    with pytest.raises(TypeError) as info:
        load_config(path)
    msg = str(info.value)
    assert "'epochs' must be int, got '3' (str)" in msg
    assert "cfg.toml" in msg and "[params]" in msg


def test_wrong_type_in_quick_table_is_caught_without_quick(write_config):
    path = write_config('experiment = "toy"\n[quick]\nverbose = 1\n')
    with pytest.raises(TypeError, match=r"\[quick\] 'verbose' must be bool, got 1 \(int\)"):
        load_config(path)


def test_list_element_error_names_index(write_config):
    path = write_config('experiment = "toy"\n[params]\nbits = [4, "x"]\n')
    with pytest.raises(TypeError, match=r"'bits'\[1\] must be int, got 'x' \(str\)"):
        load_config(path)


def test_float_accepts_int_and_optional_literal(write_config):
    path = write_config('experiment = "toy"\n[params]\nlr = 1\nscale = 2\nmode = "slow"\n')
    p = load_config(path).params
    assert p.lr == 1.0 and isinstance(p.lr, float)
    assert p.scale == 2.0 and p.mode == "slow"
    bad = write_config('experiment = "toy"\n[params]\nmode = "medium"\n', name="bad.toml")
    with pytest.raises(TypeError, match="must be one of 'fast', 'slow', got 'medium'"):
        load_config(bad)


def test_post_init_error_is_surfaced_with_context(write_config):
    path = write_config('experiment = "toy"\n[params]\nepochs = 0\n')
    with pytest.raises(ValueError) as info:
        load_config(path)
    msg = str(info.value)
    assert "'epochs' must be >= 1, got 0" in msg
    assert "cfg.toml" in msg and "experiment 'toy'" in msg


def test_set_overrides_parse_toml_values_and_bare_strings():
    cfg = load_config(
        "toy",
        overrides=[
            "epochs=5",
            "bits=[5,10]",
            "dataset=mnist",
            "lr=1e-3",
            'tags=["a", "b"]',
            "verbose=true",
            "params.mode=slow",
            "scale=none",
        ],
    )
    p = cfg.params
    assert (p.epochs, p.bits, p.dataset, p.lr, p.tags, p.verbose, p.mode, p.scale) == (
        5,
        [5, 10],
        "mnist",
        1e-3,
        ["a", "b"],
        True,
        "slow",
        None,
    )
    assert cfg.overrides[0] == "epochs=5"


def test_set_string_field_keeps_raw_text_of_numbers():
    assert load_config("toy", overrides=["dataset=123"]).params.dataset == "123"


def test_set_beats_quick_and_seed_precedence():
    cfg = load_config("toy", overrides=["epochs=4", "seed=3"], quick=True)
    assert cfg.params.epochs == 4 and cfg.seed == 3
    assert load_config("toy", overrides=["seed=3"], seed=11).seed == 11


@pytest.mark.parametrize(
    "item, exc, pattern",
    [
        ("epoch=3", ValueError, r"unknown key 'epoch'.*valid keys: seed, epochs"),
        ("epochs", ValueError, r"--set expects key=value, got 'epochs'"),
        ("epochs=many", TypeError, r"--set epochs=many: 'epochs' must be int, got 'many'"),
        ("bits=5", TypeError, r"'bits' must be list\[int\], got 5 \(int\)"),
        ("seed=-1", ValueError, r"'seed' must be an integer in \[0, 4294967295\], got -1"),
        ("seed=x", TypeError, r"'seed' must be an integer"),
    ],
)
def test_set_errors(item, exc, pattern):
    with pytest.raises(exc, match=pattern):
        load_config("toy", overrides=[item])


def test_unknown_experiment_and_missing_key(write_config):
    with pytest.raises(
        ValueError,
        match=r"unknown experiment 'toyy' \(did you mean 'toy'\?\); valid experiments: toy, toy-bench",
    ):
        load_config(write_config('experiment = "toyy"\n'))
    with pytest.raises(ValueError, match="missing required key 'experiment'"):
        load_config(write_config("seed = 1\n", name="b.toml"))


def test_bad_files_and_names(write_config, tmp_path):
    with pytest.raises(ValueError, match=r"is not valid TOML"):
        load_config(write_config("experiment = \n", name="broken.toml"))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_config(tmp_path / "nope.toml")
    with pytest.raises(
        ValueError,
        match=r"unknown config 'toyy' \(did you mean 'toy'\?\); shipped configs: bench-toy, toy",
    ):
        load_config("toyy")


def test_to_toml_round_trips(tmp_path):
    cfg = load_config("toy", overrides=["lr=0.5", 'tags=["x"]'], quick=True, seed=9)
    data = tomllib.loads(cfg.to_toml())
    assert data["seed"] == 9 and data["name"] == "toy" and data["experiment"] == "toy"
    assert "scale" not in data["params"]  # None is omitted
    assert "quick" not in data
    path = tmp_path / "config.toml"
    path.write_text(cfg.to_toml())
    again = load_config(path)
    assert again.name == "toy" and again.seed == 9 and again.params == cfg.params
    assert cfg.to_dict()["params"]["scale"] is None
    # a run directory resolves to its config.toml
    assert load_config(tmp_path).params == cfg.params


def test_list_configs_sorted_with_kind():
    infos = list_configs()
    assert [(c.name, c.experiment, c.kind) for c in infos] == [
        ("bench-toy", "toy-bench", "bench"),
        ("toy", "toy", "experiment"),
    ]
    assert infos[1].description == "Toy config."


def test_registry_lookup_and_listing(toy):
    assert get_experiment("toy") is toy
    assert [e.name for e in list_experiments()] == ["toy", "toy-bench"]
    assert [e.name for e in list_experiments("bench")] == ["toy-bench"]
    with pytest.raises(ValueError, match="valid experiments: toy, toy-bench"):
        get_experiment("nope")
    with pytest.raises(ValueError, match="'kind' must be one of"):
        list_experiments("benchmark")


def test_register_rejects_duplicates_and_bad_definitions(toy):
    register(toy)  # same experiment again: fine

    def other_run(ctx, p):
        pass

    with pytest.raises(ValueError, match="already registered"):
        register(Experiment("toy", toy.params, other_run, "dup"))

    @dataclass
    class Bad:
        x: set[int] = frozenset()

    with pytest.raises(TypeError, match=r"field 'x'.*unsupported annotation"):
        register(Experiment("bad", Bad, toy.run, "bad"))
    with pytest.raises(
        ValueError, match="'kind' of experiment 'k' must be one of experiment, bench"
    ):
        Experiment("k", toy.params, toy.run, "k", kind="benchmark")
    with pytest.raises(TypeError, match="must be a dataclass type"):
        Experiment("p", dict, toy.run, "p")
    with pytest.raises(ValueError, match="lower-case identifier"):
        Experiment("Bad Name", toy.params, toy.run, "x")
    with pytest.raises(ValueError, match=r"paper\[0\].*\['v'\] must be a str, number"):
        Experiment("p", toy.params, toy.run, "p", paper=({"v": [1, 2]},))


def test_params_help(toy):
    info = {p.name: p for p in params_help(toy)}
    assert info["epochs"].help == "number of epochs"
    assert info["epochs"].type == "int" and info["epochs"].default == 2
    assert info["bits"].type == "list[int]" and info["bits"].default == [4, 8]
    assert info["scale"].type == "float | None"


# --------------------------------------------------------------------------- files (issue 23)


def test_byte_order_mark_is_accepted(write_config):
    path = write_config('experiment = "toy"\n[params]\nepochs = 3\n')
    path.write_bytes(b"\xef\xbb\xbf" + path.read_bytes())
    assert load_config(path).params.epochs == 3


def test_invalid_utf8_names_the_file_and_offset(write_config):
    from hybridqnn.errors import InputFileError

    path = write_config('experiment = "toy"\n')
    path.write_bytes(path.read_bytes() + b'description = "\xff"\n')
    with pytest.raises(InputFileError) as info:
        load_config(path)
    assert str(info.value) == f"config {str(path)!r} is not UTF-8: byte 0xff at offset 34 is invalid"


@pytest.mark.parametrize("depth", [33, 5000])
def test_nesting_deeper_than_the_limit_is_one_line(write_config, depth):
    from hybridqnn.errors import InputFileError

    path = write_config('experiment = "toy"\nx = ' + "[" * depth + "]" * depth + "\n")
    with pytest.raises(InputFileError, match=r"cfg\.toml' nests tables or arrays deeper than 32 levels \(the limit\)$"):
        load_config(path)


def test_nesting_within_the_limit_parses(write_config):
    path = write_config('experiment = "toy"\n[params]\ntags = ' + "[" * 30 + "]" * 30 + "\n")
    with pytest.raises(TypeError, match=r"'tags'\[0\] must be str"):  # parsed, then type-checked
        load_config(path)


def test_deep_set_value_is_one_line():
    with pytest.raises(ValueError, match=r"^config 'toy': --set tags: the value nests tables or arrays deeper than 32"):
        load_config("toy", overrides=["tags=" + "[" * 5000 + "]" * 5000])


def test_size_limit_and_its_override(write_config, monkeypatch):
    from hybridqnn.errors import InputFileError
    from hybridqnn.experiments.config import MAX_CONFIG_BYTES, max_config_bytes

    assert max_config_bytes() == MAX_CONFIG_BYTES == 2**20
    path = write_config('experiment = "toy"\n' + "# padding\n" * 20)
    monkeypatch.setenv("HYBRIDQNN_MAX_CONFIG_BYTES", "100")
    with pytest.raises(InputFileError, match=r"cfg\.toml' is larger than 100 bytes \(the limit; raise it with \$HYBRIDQNN_MAX_CONFIG_BYTES\)"):
        load_config(path)
    monkeypatch.setenv("HYBRIDQNN_MAX_CONFIG_BYTES", "1000")
    assert load_config(path).params.epochs == 2
    monkeypatch.setenv("HYBRIDQNN_MAX_CONFIG_BYTES", "-1")
    with pytest.raises(ValueError, match="'HYBRIDQNN_MAX_CONFIG_BYTES' must be a positive integer, got '-1'"):
        load_config(path)


def test_invalid_toml_is_an_input_file_error(write_config):
    from hybridqnn.errors import InputFileError

    path = write_config('experiment = "toy"\n[params\n')
    with pytest.raises(InputFileError, match=r"cfg\.toml' is not valid TOML: "):
        load_config(path)


def test_set_errors_name_the_config():
    with pytest.raises(TypeError, match=r"^config 'toy': --set epochs=many: 'epochs' must be int"):
        load_config("toy", overrides=["epochs=many"])


def test_params_help_shows_declared_rules(toy):
    # a local params class: importing a built-in experiment module here would register it in
    # the toy registry, and so never in the real one
    from hybridqnn.experiments.params import list_field, param

    def _check(label, value):
        """a letter."""

    @dataclass(frozen=True)
    class Declared:
        width: int = param(8, low=1, high=2**20)
        lr: float = param(0.1, low=0.0, low_open=True)
        dataset: str = param("mnist", choices=("mnist", "fashion-mnist"))
        names: list[str] = list_field("a", check=_check, nonempty=True)
        verbose: bool = False

    info = {p.name: p for p in params_help(Experiment("d", Declared, toy.run, "d"))}
    assert info["width"].rule == "an integer in [1, 2^20]"
    assert info["lr"].rule == "a float > 0"
    assert info["dataset"].rule == "one of mnist, fashion-mnist"
    assert info["names"].rule == "at least one entry; a letter"
    assert info["verbose"].rule == ""  # a bool declares nothing
