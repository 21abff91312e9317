"""Sweeps: a point equals simulate, common random numbers, stores, executors."""

import json
import math
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
import xarray as xr

import povsim
from povsim import County, Design, Measurement, Scenario, simulate, simulate_checks, sweep
from povsim.sweep import crn_variance_ratio, sample_size_axis

SMALL = County(villages=30, households_per_village=(40, 80), wrongful_exit_rate=0.02)


def small_scenario(**changes):
    s = Scenario(
        county=SMALL,
        design=Design.two_stage(200, 8),
        measurement=Measurement(sensitivity=0.9, specificity=0.99, team_sd=0.4),
    )
    return s.replace(**changes) if changes else s


AXES = {
    "measurement.sensitivity": [0.7, 0.9],
    "design.households": sample_size_axis([100, 200], max_villages=10),
}


def point_of(ds, **where):
    """The sweep's point at ``where`` (dotted names), without the sweep's coordinates."""
    sel = ds.sel({k.replace("__", "."): v for k, v in where.items()})
    return sel.drop_vars([c for c in sel.coords if "." in c])


def assert_point_equals(point, single):
    assert set(point.data_vars) == set(single.data_vars)
    for name in single.data_vars:
        xr.testing.assert_identical(point[name], single[name])


# -- a point is simulate ------------------------------------------------------------------


def test_sweep_point_equals_simulate():
    s = small_scenario()
    ds = sweep(s, AXES, checks=2500, seed=5)
    assert ds.p_pass.dims == ("measurement.sensitivity", "design.households")
    assert ds["design.villages"].dims == ("design.households",)
    assert list(ds["design.villages"].values) == [3, 5]
    assert ds["measurement.sensitivity"].attrs["units"] == "1"
    assert ds["design.households"].attrs["units"] == "households"
    assert "meaning" not in ds.attrs and ds.attrs["checks"] == 2500
    assert "param.measurement.sensitivity" not in ds.attrs
    assert ds.attrs["param.measurement.specificity"] == 0.99
    for sens in (0.7, 0.9):
        for n, v in ((100, 3), (200, 5)):
            scenario = s.replace(
                **{"measurement.sensitivity": sens, "design.households": n, "design.villages": v}
            )
            single = simulate(scenario, checks=2500, seed=5)
            assert_point_equals(
                point_of(ds, measurement__sensitivity=sens, design__households=n), single
            )


def test_every_kind_of_path_sweeps():
    s = small_scenario()
    axes = {
        "county.wrongful_exit_rate": [0.01, 0.03],
        "county.icc_omission": [0.0, 0.1],
        "rule.wrongful_exit": [0.02, 0.025],
        "design.villages": [5, 10],
    }
    ds = sweep(s, axes, checks=1024, seed=3, progress=False)
    assert ds.p_pass.shape == (2, 2, 2, 2)
    single = simulate(
        s.replace(
            **{
                "county.wrongful_exit_rate": 0.03,
                "county.icc_omission": 0.1,
                "rule.wrongful_exit": 0.025,
                "design.villages": 5,
            }
        ),
        checks=1024,
        seed=3,
    )
    pt = ds.isel({name: -1 if name != "design.villages" else 0 for name in axes})
    assert_point_equals(pt.drop_vars(list(axes)), single)


def test_labelled_axis_and_netcdf_round_trip(tmp_path):
    s = small_scenario()
    ds = sweep(
        s,
        {"rule": {"official": {}, "upper bound": {"rule.method": "upper_bound"}}},
        checks=1024,
        seed=2,
    )
    assert list(ds.rule.values) == ["official", "upper bound"]
    assert float(ds.p_pass.sel(rule="upper bound")) <= float(ds.p_pass.sel(rule="official"))
    ds.to_netcdf(tmp_path / "s.nc", engine="h5netcdf")
    back = xr.load_dataset(tmp_path / "s.nc", engine="h5netcdf")
    np.testing.assert_array_equal(back.p_pass.values, ds.p_pass.values)
    assert json.loads(back.attrs["sweep_axes"])[0]["name"] == "rule"


# -- common random numbers ----------------------------------------------------------------


def test_rules_are_evaluated_on_the_same_samples():
    s = small_scenario()
    a = simulate_checks(s, checks=2048, seed=9)
    b = simulate_checks(s.replace(**{"rule.wrongful_exit": 0.03}), checks=2048, seed=9)
    for field in ("recorded_wrongful_persons", "exited_persons", "approving", "households"):
        np.testing.assert_array_equal(a[field].values, b[field].values)
    # a looser threshold never fails a check the official one passes
    assert np.all((b.fail_mask.values != 0) <= (a.fail_mask.values != 0))


def test_crn_reduces_the_variance_of_a_difference():
    # measured: the spread over 16 replicate seeds of p_pass(0.8) - p_pass(0.7)
    s = small_scenario()
    axes = {"measurement.sensitivity": [0.7, 0.8]}
    diffs = {True: [], False: []}
    for crn in (True, False):
        for rep in range(16):
            ds = sweep(s, axes, checks=2048, seed=100 + rep, common_random_numbers=crn)
            diffs[crn].append(float(ds.p_pass[1] - ds.p_pass[0]))
    ratio = np.var(diffs[True], ddof=1) / np.var(diffs[False], ddof=1)
    assert ratio < 0.35, ratio
    # the paired estimate from single runs agrees that CRN helps a lot
    cmp = crn_variance_ratio(
        s, {"measurement.sensitivity": 0.7}, {"measurement.sensitivity": 0.8}, checks=8192, seed=1
    )
    assert cmp.ratio < 0.35
    assert math.isclose(cmp.variance_crn / cmp.variance_independent, cmp.ratio)


def test_independent_streams_point_is_not_simulate():
    s = small_scenario()
    ds = sweep(
        s, {"measurement.sensitivity": [0.9]}, checks=2048, seed=4, common_random_numbers=False
    )
    single = simulate(s, checks=2048, seed=4)
    assert float(ds.p_pass[0]) != float(single.p_pass) or float(ds.estimate_mean[0, 3]) != float(
        single.estimate_mean[3]
    )


# -- stores -------------------------------------------------------------------------------


class Interrupt:
    """A progress callback that interrupts the sweep after ``after`` checks."""

    def __init__(self, after):
        self.after = after
        self.calls = []

    def __call__(self, done, total):
        self.calls.append(done)
        if done >= self.after:
            raise KeyboardInterrupt


def test_resume_gives_the_identical_dataset(tmp_path):
    s = small_scenario()
    axes = {"measurement.sensitivity": [0.6, 0.7, 0.8, 0.9]}
    full = sweep(s, axes, checks=2048, seed=11)
    store = tmp_path / "store"
    with pytest.raises(KeyboardInterrupt):
        sweep(s, axes, checks=2048, seed=11, store=store, progress=Interrupt(2 * 2048))
    assert len(list((store / "points").glob("*.nc"))) == 2
    seen = Interrupt(math.inf)
    resumed = sweep(s, axes, checks=2048, seed=11, store=store, progress=seen)
    assert seen.calls[0] == 2 * 2048  # the two finished points were read back, not rerun
    xr.testing.assert_identical(resumed, full)
    # a third call recomputes nothing
    again = Interrupt(math.inf)
    xr.testing.assert_identical(
        sweep(s, axes, checks=2048, seed=11, store=store, progress=again), full
    )
    assert again.calls == [4 * 2048]


def test_a_store_for_other_arguments_is_refused(tmp_path):
    s = small_scenario()
    axes = {"measurement.sensitivity": [0.8, 0.9]}
    store = tmp_path / "store"
    sweep(s, axes, checks=1024, seed=1, store=store)
    with pytest.raises(ValueError, match="other arguments.*checks"):
        sweep(s, axes, checks=2048, seed=1, store=store)
    with pytest.raises(ValueError, match="other arguments.*seed"):
        sweep(s, axes, checks=1024, seed=2, store=store)
    with pytest.raises(ValueError, match="other arguments.*axes"):
        sweep(s, {"measurement.sensitivity": [0.8, 0.95]}, checks=1024, seed=1, store=store)
    with pytest.raises(ValueError, match="other arguments.*scenario"):
        sweep(small_scenario(**{"rule.approval": 0.8}), axes, checks=1024, seed=1, store=store)
    other = tmp_path / "other"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    with pytest.raises(ValueError, match="non-empty folder"):
        sweep(s, axes, checks=1024, seed=1, store=other)


# -- executors ----------------------------------------------------------------------------


def test_thread_pool_gives_the_local_result():
    s = small_scenario()
    local = sweep(s, AXES, checks=3000, seed=5)
    with ThreadPoolExecutor(2) as ex:
        remote = sweep(s, AXES, checks=3000, seed=5, executor=ex, chunk_blocks=1)
    xr.testing.assert_identical(local, remote)


def _dask_sweep(tmp_path, *, processes):
    distributed = pytest.importorskip("distributed")
    s = small_scenario()
    axes = {"measurement.sensitivity": [0.7, 0.9], "county.omission_rate": [0.005, 0.02]}
    local = sweep(s, axes, checks=3000, seed=8)
    with (
        distributed.LocalCluster(
            n_workers=2,
            threads_per_worker=1,
            processes=processes,
            dashboard_address=None,
            local_directory=str(tmp_path),
        ) as cluster,
        distributed.Client(cluster) as client,
    ):
        assert len(client.scheduler_info()["workers"]) == 2
        remote = sweep(s, axes, checks=3000, seed=8, executor=client, chunk_blocks=2)
    xr.testing.assert_identical(local, remote)


def test_dask_local_cluster_gives_the_local_result(tmp_path):
    # two threaded workers: the dask protocol, on kernels this process has compiled
    _dask_sweep(tmp_path, processes=False)


@pytest.mark.slow
def test_dask_local_cluster_of_two_processes_gives_the_local_result(tmp_path):
    # two worker processes, each compiling the kernels (about a minute on two cores)
    _dask_sweep(tmp_path, processes=True)


# -- validation ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("axes", "match"),
    [
        ({}, "non-empty mapping"),
        ([("measurement.sensitivity", [0.9])], "non-empty mapping"),
        ({"measurement.sensitivity": []}, "non-empty list"),
        ({"measurement.sensitivity": 0.9}, "non-empty list"),
        ({"measurement.sensitivity": [0.9, float("nan")]}, "finite"),
        ({"measurement.sensitivity": [0.9, 0.9]}, "repeated"),
        ({"measurement.sensitivty": [0.9]}, "unknown scenario field 'measurement.sensitivty'"),
        ({"rules.approval": [0.9]}, "unknown scenario field"),
        ({"measurement.sensitivity": [1.2]}, "sensitivity must be"),
        ({"design.villages": [25, 40]}, "design.villages"),
        (
            {"a": [{"rule.approval": 0.9}], "rule.approval": [0.8]},
            "swept by two axes",
        ),
        ({"x": [{"rule.approval": 0.9}, 0.8]}, "mixes"),
        ({"x": {"one": 0.8}}, "must be a dict"),
    ],
)
def test_bad_axes_are_refused(axes, match):
    with pytest.raises(ValueError, match=match):
        sweep(small_scenario(), axes, checks=100, seed=1)


def test_bad_arguments_are_refused(tmp_path):
    s = small_scenario()
    ok = {"measurement.sensitivity": [0.9]}
    with pytest.raises(ValueError, match="checks"):
        sweep(s, ok, checks=0, seed=1)
    with pytest.raises(ValueError, match="seed"):
        sweep(s, ok, checks=10, seed=-1)
    with pytest.raises(ValueError, match="scenario"):
        sweep("s", ok, checks=10, seed=1)
    with pytest.raises(ValueError, match="executor"):
        sweep(s, ok, checks=10, seed=1, executor=object())
    with pytest.raises(ValueError, match="progress"):
        sweep(s, ok, checks=10, seed=1, progress="yes")
    with pytest.raises(ValueError, match="store"):
        sweep(s, ok, checks=10, seed=1, store=3)
    with pytest.raises(ValueError, match="per_village"):
        sample_size_axis([100], per_village=0)
    with pytest.raises(ValueError, match="households"):
        sample_size_axis([])
    assert povsim.sweep is sweep
