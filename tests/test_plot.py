"""Each plot writes a PNG with labelled axes; bad inputs are refused."""

import matplotlib

matplotlib.use("Agg")

import pytest
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from povsim import County, Design, Measurement, Scenario, simulate, sweep
from povsim import plot as pplot
from povsim.sweep import sample_size_axis

SMALL = County(villages=40, households_per_village=(40, 80), icc_approval=0.1)


@pytest.fixture(scope="module")
def base():
    return Scenario(
        county=SMALL,
        design=Design.two_stage(200, 8, poor_village_share=None),
        measurement=Measurement(sensitivity=0.9, specificity=0.99),
    )


@pytest.fixture(scope="module")
def oc(base):
    axes = {
        "county.wrongful_exit_rate": [0.005, 0.02, 0.04],
        "design.households": sample_size_axis([100, 200], per_village=20),
    }
    return sweep(base, axes, checks=1024, seed=1)


@pytest.fixture(scope="module")
def villages(base):
    return sweep(base, {"design.villages": [4, 8, 20]}, checks=1024, seed=1)


def check_png(ax, path):
    assert isinstance(ax, Axes)
    assert ax.get_xlabel() and ax.get_ylabel()
    ax.figure.savefig(path, dpi=60)
    assert path.stat().st_size > 1000


def test_oc_curve(oc, tmp_path):
    ax = pplot.oc_curve(oc, "county.wrongful_exit_rate", hue="design.households")
    assert "%" in ax.get_xlabel()
    assert len(ax.get_lines()) >= 3  # two curves and the threshold
    check_png(ax, tmp_path / "oc.png")


def test_oc_curve_default_x_on_a_given_ax(oc, tmp_path):
    fig = Figure()
    given = fig.add_subplot()
    ax = pplot.oc_curve(oc.sel({"design.households": 200}), realised=False, ax=given)
    assert ax is given
    check_png(ax, tmp_path / "oc1.png")


def test_risk_surface(oc, tmp_path):
    for risk in ("wrong", "false_pass", "false_fail"):
        ax = pplot.risk_surface(oc, "county.wrongful_exit_rate", "design.households", risk=risk)
        check_png(ax, tmp_path / f"risk_{risk}.png")


def test_fail_attribution(oc, tmp_path):
    ax = pplot.fail_attribution(oc.sel({"design.households": 100}), "county.wrongful_exit_rate")
    check_png(ax, tmp_path / "fails_line.png")
    one = oc.sel({"design.households": 100, "county.wrongful_exit_rate": 0.04})
    check_png(pplot.fail_attribution(one), tmp_path / "fails_bar.png")


def test_margin_distribution(oc, base, tmp_path):
    ax = pplot.margin_distribution(
        oc.sel({"county.wrongful_exit_rate": 0.02}), hue="design.households"
    )
    check_png(ax, tmp_path / "margin.png")
    single = simulate(base, checks=1024, seed=2)
    check_png(pplot.margin_distribution(single, log=False), tmp_path / "margin1.png")


def test_design_effect(villages, tmp_path):
    ax = pplot.design_effect(villages)
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any("Kish" in s for s in labels)
    check_png(ax, tmp_path / "deff.png")


def test_bad_inputs_are_refused(oc, villages):
    with pytest.raises(ValueError, match="x must be a dimension"):
        pplot.oc_curve(oc, "design.villages")
    with pytest.raises(ValueError, match="more dimensions"):
        pplot.oc_curve(oc, "county.wrongful_exit_rate")
    with pytest.raises(ValueError, match="x must name"):
        pplot.oc_curve(villages)
    with pytest.raises(ValueError, match="xarray.Dataset"):
        pplot.margin_distribution([1, 2])
    with pytest.raises(ValueError, match="risk must be"):
        pplot.risk_surface(oc, "county.wrongful_exit_rate", "design.households", risk="x")
    with pytest.raises(ValueError, match="different"):
        pplot.risk_surface(oc, "design.households", "design.households")
    with pytest.raises(ValueError, match="indicators"):
        pplot.design_effect(villages, indicators=("incidence",))
    with pytest.raises(ValueError, match="band"):
        pplot.oc_curve(oc.sel({"design.households": 100}), band=-1)
