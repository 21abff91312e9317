"""The povsim command: help, a TOML study, the default study in miniature, plan."""

from pathlib import Path

import pytest
import xarray as xr

from povsim.cli import main
from povsim.study import load_study

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "study.toml"


def test_help_explains_everything(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for word in ("povsim run", "--quick", "study.toml", "povsim plan", "summary.txt"):
        assert word in text
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    text = capsys.readouterr().out
    for word in ("--out", "--quick", "--checks", "--seed", "STUDY", "resume", "sensitivity"):
        assert word in text


def test_example_study_runs(tmp_path, capsys):
    out = tmp_path / "ex"
    assert main(["run", str(EXAMPLE), "--out", str(out), "--checks", "200", "--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "variance-reduction ratio" in text
    summary = (out / "summary.txt").read_text()
    assert "P(pass)" in summary and "±" in summary
    ds = xr.load_dataset(out / "study.nc", group="sweep", engine="h5netcdf")
    assert ds.p_pass.dims == ("county.wrongful_exit_rate", "design.households")
    assert len(list(out.glob("*.png"))) == 3


def test_study_file_errors(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('checks = 10\n[axes]\n"measurement.sensitivty" = [0.9]\n')
    assert main(["run", str(bad), "--out", str(tmp_path / "o")]) == 2
    assert "unknown scenario field" in capsys.readouterr().err
    bad.write_text("checks = 10\n")
    with pytest.raises(ValueError, match=r"\[axes\]"):
        load_study(bad)
    bad.write_text('chekcs = 10\n[axes]\n"rule.approval" = [0.9]\n')
    with pytest.raises(ValueError, match="unknown key"):
        load_study(bad)
    bad.write_text("[axes\n")
    with pytest.raises(ValueError, match="not valid TOML"):
        load_study(bad)
    assert main(["run", "--checks", "0", "--out", str(tmp_path / "o2")]) == 2


def test_unquoted_dotted_keys_and_labelled_axes(tmp_path):
    f = tmp_path / "s.toml"
    f.write_text(
        "checks = 50\n[axes]\nmeasurement.sensitivity = [0.8, 0.9]\n"
        '[axes.rule]\nofficial = {}\n"upper bound" = { "rule.method" = "upper_bound" }\n'
    )
    study = load_study(f)
    axes = study.sweeps[0].axes
    assert list(axes) == ["measurement.sensitivity", "rule"]
    assert axes["rule"]["upper bound"] == {"rule.method": "upper_bound"}


def test_default_study_in_miniature(tmp_path, capsys):
    out = tmp_path / "run"
    args = ["run", "--quick", "--checks", "40", "--out", str(out), "--no-progress"]
    assert main(args) == 0
    text = capsys.readouterr().out
    for words in (
        "P(verdict flipped by <= 2 households)",
        "Operating characteristics",
        "Sample size",
        "Rules on the same draws",
        "variance-reduction ratio",
        "runtime",
    ):
        assert words in text
    pngs = sorted(p.name for p in out.glob("*.png"))
    assert "oc_wrongful_exit_oc_curve.png" in pngs and "villages_design_effect.png" in pngs
    rules = xr.load_dataset(out / "study.nc", group="rules", engine="h5netcdf")
    assert rules.p_pass.dims == ("rule", "county.wrongful_exit_rate")
    assert (out / "store" / "rules" / "sweep.json").exists()
    # other arguments into the same store are refused
    assert main(["run", "--quick", "--checks", "41", "--out", str(out), "--no-progress"]) == 2
    assert "other arguments" in capsys.readouterr().err


def test_plan_command(capsys):
    args = ["plan", "--srs", "--perfect", "--min", "300", "--max", "900", "--step", "100"]
    assert main(args + ["--no-progress"]) == 0
    text = capsys.readouterr().out
    assert "sample-size plan (exact)" in text or "sample-size plan (simulation)" in text
    assert "households" in text
