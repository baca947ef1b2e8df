"""Data root resolution: data_dir, then $HYBRIDQNN_DATA, then the user cache folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from hybridqnn.data import resolve_data_root


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.delenv("HYBRIDQNN_DATA", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    return monkeypatch


def test_explicit_data_dir_wins(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HYBRIDQNN_DATA", str(tmp_path / "env"))
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_root(tmp_path / "explicit") == tmp_path / "explicit"
    assert resolve_data_root(str(tmp_path / "explicit")) == tmp_path / "explicit"


def test_env_var_beats_cache(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HYBRIDQNN_DATA", str(tmp_path / "env"))
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_root() == tmp_path / "env"


def test_xdg_cache_home(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert resolve_data_root() == tmp_path / "xdg" / "hybridqnn" / "data"


def test_default_cache(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HOME", str(tmp_path / "home"))
    assert resolve_data_root() == tmp_path / "home" / ".cache" / "hybridqnn" / "data"


def test_empty_or_relative_env_values_are_ignored(
    clean_env: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    clean_env.setenv("HOME", str(tmp_path))
    clean_env.setenv("HYBRIDQNN_DATA", "")
    clean_env.setenv("XDG_CACHE_HOME", "relative/cache")
    assert resolve_data_root() == tmp_path / ".cache" / "hybridqnn" / "data"


def test_tilde_is_expanded(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    clean_env.setenv("HOME", str(tmp_path))
    assert resolve_data_root("~/d") == tmp_path / "d"


def test_does_not_create_the_folder(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:
    resolve_data_root(tmp_path / "never")
    assert not (tmp_path / "never").exists()


def test_bad_arguments() -> None:
    with pytest.raises(TypeError, match="'data_dir'.*int"):
        resolve_data_root(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="'data_dir'"):
        resolve_data_root("")
