"""Runs save their trained models: the run directory's models/, the report's list and cost."""

from __future__ import annotations

import json

import pytest

from hybridqnn import cli


@pytest.mark.usefixtures("shared_data")
def test_models_are_saved_unless_no_save_models(tmp_path, capsys):
    """A real experiment saves its trained networks (listed, with their cost, in report.json and
    report.md); --no-save-models leaves no models/ and an empty list."""
    for flag, out in (([], tmp_path / "saved"), (["--no-save-models"], tmp_path / "unsaved")):
        argv = ["run", "qpsbgd-logreg", "--quick", "--out", str(out), "--no-progress", *flag]
        assert cli.main(argv) == 0, capsys.readouterr().err
        report = json.loads((out / "report.json").read_text())
        md = (out / "report.md").read_text()
        if flag:
            assert report["models"] == [] and not (out / "models").exists() and "## Models" not in md
            continue
        assert len(report["models"]) == len([r for r in report["rows"] if "method" in r]) > 0
        first = report["models"][0]
        assert (out / first["path"] / "model.json").is_file() and first["bytes"] > 0
        assert report["rows"][first["row"]]["method"] in first["path"]
        assert "## Models" in md and "--no-save-models" in md
