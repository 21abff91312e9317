"""The engine: reproducibility, the verdict margin by hand, invariants, Kish."""

import os
import subprocess
import sys

import numpy as np
import pytest
import xarray as xr
from conftest import assert_within_mcse
from hypothesis import given
from hypothesis import strategies as st

import povsim
from povsim import County, Design, Measurement, Population, Rule, Scenario, simulate
from povsim._engine import population as _pop
from povsim.exact import kish_design_effect

SMALL = County(villages=30, households_per_village=(40, 80))


def small_scenario(**changes):
    s = Scenario(
        county=SMALL,
        design=Design.two_stage(200, 8),
        measurement=Measurement(sensitivity=0.9, specificity=0.99, team_sd=0.4),
    )
    return s.replace(**changes) if changes else s


# -- reproducibility ----------------------------------------------------------------------


def test_same_seed_identical_whatever_the_chunking():
    s = small_scenario()
    a = simulate(s, checks=5000, seed=7, chunk_blocks=1)
    b = simulate(s, checks=5000, seed=7, chunk_blocks=3)
    c = simulate(s, checks=5000, seed=7)
    xr.testing.assert_identical(a, b)
    xr.testing.assert_identical(a, c)


def test_other_seed_differs():
    s = small_scenario()
    a = simulate(s, checks=3000, seed=7)
    b = simulate(s, checks=3000, seed=8)
    assert not a.identical(b)
    assert float(a.estimate_mean.sel(indicator="approval")) != float(
        b.estimate_mean.sel(indicator="approval")
    )


def test_seed_forms():
    s = small_scenario()
    a = simulate(s, checks=1500, seed=np.random.SeedSequence(3))
    b = simulate(s, checks=1500, seed=3)
    xr.testing.assert_identical(a.drop_attrs(), b.drop_attrs())
    g1 = simulate(s, checks=1500, seed=np.random.default_rng(5))
    g2 = simulate(s, checks=1500, seed=np.random.default_rng(5))
    xr.testing.assert_identical(g1, g2)


def test_fresh_mode_reproducible_whatever_the_chunking():
    s = small_scenario(population="fresh")
    a = simulate(s, checks=1500, seed=11, chunk_blocks=1)
    b = simulate(s, checks=1500, seed=11, chunk_blocks=2)
    xr.testing.assert_identical(a, b)
    assert 0 < float(a.p_true_pass) <= 1


_THREAD_SCRIPT = """
import hashlib, json, sys
import numba, povsim
from povsim import County, Design, Measurement, Scenario
s = Scenario(county=County(villages=30, households_per_village=(40, 80)),
             design=Design.two_stage(200, 8),
             measurement=Measurement(sensitivity=0.9, specificity=0.99, team_sd=0.4))
ds = povsim.simulate(s, checks=6000, seed=2024)
h = hashlib.sha256()
for name in sorted(ds.data_vars):
    h.update(name.encode()); h.update(ds[name].values.tobytes())
h.update(json.dumps({k: str(v) for k, v in ds.attrs.items()}, sort_keys=True).encode())
print(numba.get_num_threads(), h.hexdigest())
"""


def test_identical_with_one_and_two_threads(tmp_path):
    digests = {}
    env = dict(os.environ)
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "numba-cache")
    env["POVSIM_NUMBA_CACHE"] = "1"  # the second process reuses the first one's compilation
    for threads in (1, 2):
        env["NUMBA_NUM_THREADS"] = str(threads)
        out = subprocess.run(
            [sys.executable, "-c", _THREAD_SCRIPT],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        ).stdout.split()
        assert out[0] == str(threads)
        digests[threads] = out[1]
    assert digests[1] == digests[2]


def test_attrs_carry_provenance():
    s = small_scenario()
    ds = simulate(s, checks=1024, seed=99)
    assert ds.attrs["seed"] == "99"
    assert ds.attrs["checks"] == 1024
    assert ds.attrs["povsim_version"] == povsim.__version__
    assert ds.attrs["param.design.households"] == 200
    assert ds.attrs["param.measurement.team_sd"] == 0.4
    assert Scenario.from_json(ds.attrs["scenario_json"]) == s
    for name in ds.data_vars:
        if not name.endswith("_mcse") and name != "sampled_households":
            assert f"{name}_mcse" in ds, name


def test_interrupt_keeps_finished_blocks(monkeypatch):
    sim_module = sys.modules["povsim.simulate"]

    calls = {"n": 0}
    real = sim_module._run_chunk

    def flaky(prep, checks, first, n):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt
        return real(prep, checks, first, n)

    monkeypatch.setattr(sim_module, "_run_chunk", flaky)
    s = small_scenario()
    with pytest.warns(RuntimeWarning, match="interrupted"):
        part = simulate(s, checks=10 * 1024, seed=1, chunk_blocks=1)
    monkeypatch.setattr(sim_module, "_run_chunk", real)
    assert part.attrs["checks"] == 2048 and part.attrs["interrupted"] == 1
    whole = simulate(s, checks=2048, seed=1)
    xr.testing.assert_equal(part, whole)


# -- the verdict margin, by hand ----------------------------------------------------------


def whole_population_check(sizes_exited, flags_exited, sizes_nonreg, flags_nonreg, approve, rule):
    """A one-village population checked in full (SRS of every household), perfectly."""
    n_e, n_n = len(sizes_exited), len(sizes_nonreg)
    pop = Population.from_households(
        village=np.zeros(n_e + n_n, int),
        size=np.array(sizes_exited + sizes_nonreg),
        status=np.array([0] * n_e + [2] * n_n),
        problem=np.array(flags_exited + flags_nonreg, bool),
        approve=np.array(approve, bool),
    )
    s = Scenario(design=Design.srs(n_e + n_n), rule=rule)
    return pop, simulate(s, checks=1024, seed=0, population=pop)


def test_margin_one_large_household_flips_a_pass():
    # 9 one-person and 1 five-person exited households (14 persons), no flags.
    # Flagging the 5-person household gives w = 5/14 = 0.357 >= 0.25: margin 1.
    rule = Rule(wrongful_exit=0.25, omission=0.5, incidence=0.9, approval=0.9)
    _, ds = whole_population_check(
        [1] * 9 + [5], [False] * 10, [2] * 10, [False] * 10, [True] * 20, rule
    )
    assert float(ds.p_pass) == 1.0
    assert ds.p_margin.sel(margin=1) == 1.0
    assert list(ds.p_flip.values) == [1.0, 1.0, 1.0, 1.0]


def test_margin_two_through_incidence():
    # Exited: 10 one-person households (E = 10); never registered: 10 two-person
    # households (N = 20); P = 30. Alone, w needs 3 flags (3/10 >= 0.25), omission
    # needs 5 (10/20 >= 0.5) and approval 3 answers (17/20 < 0.9). Incidence is
    # (w*10 + o*20)/30 = flagged persons / 30 and fails at 0.12, i.e. 3.6 persons:
    # one flag adds at most 2 persons, two omission flags add 4. Margin 2.
    rule = Rule(wrongful_exit=0.25, omission=0.5, incidence=0.12, approval=0.9)
    _, ds = whole_population_check(
        [1] * 10, [False] * 10, [2] * 10, [False] * 10, [True] * 20, rule
    )
    assert float(ds.p_pass) == 1.0
    assert float(ds.p_margin.sel(margin=2)) == 1.0
    assert list(ds.p_flip.values) == [0.0, 1.0, 1.0, 1.0]


def test_margin_failing_check_rescued_by_removing_the_largest_flag():
    # Exited sizes 3,1,...,1 (10 persons) with the 3-person and one 1-person household
    # flagged: w = 4/10 fails 0.25; removing the 3-person flag gives 0.1: margin 1.
    rule = Rule(wrongful_exit=0.25, omission=0.5, incidence=0.9, approval=0.9)
    flags = [True, True] + [False] * 6
    _, ds = whole_population_check([3] + [1] * 7, flags, [2] * 10, [False] * 10, [True] * 18, rule)
    assert float(ds.p_pass) == 0.0
    assert float(ds.fail_share_alone.sel(indicator="wrongful_exit")) == 1.0
    assert float(ds.p_margin.sel(margin=1)) == 1.0
    # the whole population is checked, so the verdict is the truth: no false verdicts
    assert float(ds.p_true_pass) == 0.0 and float(ds.false_pass) == 0.0
    assert np.isnan(float(ds.false_fail))


def test_margin_failing_on_two_indicators_adds_their_needs():
    # Approval 16/20 = 0.8 needs 2 more approvals to reach 0.9; w = 4/10 needs the
    # 3-person flag removed: 3 changes.
    rule = Rule(wrongful_exit=0.25, omission=0.5, incidence=0.9, approval=0.9)
    approve = [False] * 4 + [True] * 16
    _, ds = whole_population_check(
        [3] + [1] * 7, [True, True] + [False] * 6, [2] * 12, [False] * 12, approve, rule
    )
    assert float(ds.p_pass) == 0.0
    assert float(ds.fail_share.sel(indicator="approval")) == 1.0
    assert float(ds.p_margin.sel(margin=3)) == 1.0
    assert list(ds.p_flip.values) == [0.0, 0.0, 1.0, 1.0]


# -- invariants (hypothesis) --------------------------------------------------------------

household_sizes = st.lists(st.integers(1, 8), min_size=30, max_size=120)


def _pop_from(sizes, status, problem, approve, villages=3):
    n = len(sizes)
    return Population.from_households(
        village=np.arange(n) % villages,
        size=np.array(sizes),
        status=np.array(status),
        problem=np.array(problem, bool),
        approve=np.array(approve, bool),
    )


@given(sizes=household_sizes, data=st.data())
def test_more_true_problems_never_raise_the_pass_probability(sizes, data):
    n = len(sizes)
    status = data.draw(st.lists(st.sampled_from([0, 0, 1, 2, 2]), min_size=n, max_size=n))
    can = [s != 1 for s in status]
    base = [
        c and x
        for c, x in zip(
            can, data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), strict=True
        )
    ]
    extra = [
        c and x
        for c, x in zip(
            can, data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), strict=True
        )
    ]
    more = [a or b for a, b in zip(base, extra, strict=True)]
    approve = [True] * n
    rule = Rule(wrongful_exit=0.2, omission=0.2, incidence=0.3)
    s = Scenario(design=Design.srs(n // 2), rule=rule)
    a = povsim.simulate_checks(
        s, checks=300, seed=5, population=_pop_from(sizes, status, base, approve)
    )
    b = povsim.simulate_checks(
        s, checks=300, seed=5, population=_pop_from(sizes, status, more, approve)
    )
    # common random numbers: the same households are drawn, so each check's verdict
    # can only get worse when true problems are added (perfect measurement)
    passed_a = a.fail_mask.values == 0
    passed_b = b.fail_mask.values == 0
    assert not np.any(passed_b & ~passed_a)


@given(
    se=st.floats(0, 1),
    sp=st.floats(0, 1),
    over=st.floats(0, 1),
    under=st.floats(0, 1),
    team_sd=st.floats(0, 2),
    kind=st.sampled_from(["srs", "stratified", "two_stage"]),
    replace=st.booleans(),
)
def test_recorded_counts_never_exceed_what_was_sampled(se, sp, over, under, team_sd, kind, replace):
    design = Design(kind=kind, households=120, villages=6, replace=replace)
    meas = Measurement(
        sensitivity=se,
        specificity=sp,
        team_sd=team_sd,
        approval_overreport=over,
        approval_underreport=under,
    )
    s = Scenario(
        county=County(villages=20, households_per_village=(30, 60)),
        design=design,
        measurement=meas,
    )
    rec = povsim.simulate_checks(s, checks=200, seed=1)
    assert np.all(rec.recorded_wrongful_persons <= rec.exited_persons)
    assert np.all(rec.recorded_omitted_persons <= rec.nonregistered_persons)
    assert np.all(rec.approving <= rec.households)
    assert np.all(rec.households <= 120)
    assert np.all(rec.exited_households + rec.nonregistered_households <= rec.households)
    assert np.all(rec.exited_households <= rec.exited_persons)
    assert np.all((rec.margin >= 1) & (rec.margin <= 11))


@given(sizes=household_sizes, data=st.data())
def test_verdict_does_not_depend_on_household_order(sizes, data):
    n = len(sizes)
    status = data.draw(st.lists(st.sampled_from([0, 1, 2]), min_size=n, max_size=n))
    problem = [
        s != 1 and x
        for s, x in zip(
            status, data.draw(st.lists(st.booleans(), min_size=n, max_size=n)), strict=True
        )
    ]
    approve = data.draw(st.lists(st.booleans(), min_size=n, max_size=n))
    perm = data.draw(st.permutations(range(n)))
    rule = Rule(wrongful_exit=0.3, omission=0.3, incidence=0.5, approval=0.5)
    s = Scenario(design=Design.srs(n), rule=rule)  # the whole population: no sampling noise
    a = povsim.simulate_checks(
        s, checks=1, seed=0, population=_pop_from(sizes, status, problem, approve)
    )
    p = np.array(perm)
    b = povsim.simulate_checks(
        s,
        checks=1,
        seed=0,
        population=_pop_from(
            [sizes[i] for i in p],
            [status[i] for i in p],
            [problem[i] for i in p],
            [approve[i] for i in p],
        ),
    )
    for name in ("fail_mask", "margin", "recorded_wrongful_persons", "approving"):
        assert int(a[name][0]) == int(b[name][0]), name


# -- design effect: Kish ------------------------------------------------------------------


def test_two_stage_design_effect_matches_kish():
    rho = 0.05
    county = County(
        villages=400,
        households_per_village=(200, 200),
        approval_rate=0.9,
        icc_approval=rho,
    )
    pop = county.generate(seed=3)
    rho_pop = pop.icc("approval")
    assert abs(rho_pop - rho) < 0.02  # the population is a draw from the ICC-rho model
    b, m = 20, 25
    design = Design.two_stage(
        b * m, m, poor_village_share=None, registered_share=None, replace=True
    )
    ds = simulate(Scenario(county=county, design=design), checks=200_000, seed=4, population=pop)
    deff = ds.design_effect.sel(indicator="approval")
    assert_within_mcse(
        deff, ds.design_effect_mcse.sel(indicator="approval"), kish_design_effect(b, rho_pop)
    )


def test_srs_design_effect_is_one():
    pop = County(villages=60, households_per_village=(100, 150), approval_rate=0.8).generate(2)
    ds = simulate(Scenario(design=Design.srs(400)), checks=100_000, seed=3, population=pop)
    for ind in ("approval", "wrongful_exit", "omission"):
        # the linearised SRS variance of a ratio is accurate to O(1/n)
        assert abs(float(ds.design_effect.sel(indicator=ind)) - 1) < 0.05 + 4 * float(
            ds.design_effect_mcse.sel(indicator=ind)
        )
    assert_within_mcse(
        ds.design_effect.sel(indicator="approval"),
        ds.design_effect_mcse.sel(indicator="approval"),
        1.0,
    )


# -- bad input ----------------------------------------------------------------------------

NAN = float("nan")
S = Scenario(county=SMALL, design=Design.two_stage(100, 5))

BAD = [
    ("wrongful_exit_rate", lambda: County(wrongful_exit_rate=1.5)),
    ("omission_rate", lambda: County(omission_rate=NAN)),
    ("villages", lambda: County(villages=-1)),
    ("villages", lambda: County(villages=2.5)),
    ("region", lambda: County(region="eastern")),
    ("households_per_village", lambda: County(households_per_village=(10, 5))),
    ("household_sizes", lambda: County(household_sizes=(0.5, 0.4))),
    ("icc_approval", lambda: County(icc_approval=-0.1)),
    ("households", lambda: Design(households=0)),
    ("households", lambda: Design.srs(-5)),
    ("kind", lambda: Design(kind="cluster")),
    ("villages", lambda: Design(villages=2000, households=1000)),
    ("registered_share", lambda: Design.stratified(registered_share=1.01)),
    ("sensitivity", lambda: Measurement(sensitivity=1.2)),
    ("specificity", lambda: Measurement(specificity=NAN)),
    ("confirm_true", lambda: povsim.ReviewStage("x", confirm_true=-0.1)),
    ("teams", lambda: Measurement(teams=0)),
    ("team_sd", lambda: Measurement(team_sd=-1)),
    ("wrongful_exit", lambda: Rule(wrongful_exit=2)),
    ("method", lambda: Rule(method="bayes")),
    ("confidence", lambda: Rule(confidence=1.0)),
    ("region", lambda: Scenario.official_2018(region="eastern")),
    ("population", lambda: Scenario(population="sometimes")),
    ("county", lambda: Scenario(county="big")),
    ("design.nope", lambda: S.replace(**{"design.nope": 1})),
    ("checks", lambda: simulate(S, checks=0, seed=1)),
    ("checks", lambda: simulate(S, checks=1.5, seed=1)),
    ("checks", lambda: simulate(S, checks=NAN, seed=1)),
    ("seed", lambda: simulate(S, checks=10, seed=-1)),
    ("seed", lambda: simulate(S, checks=10, seed=None)),
    ("scenario", lambda: simulate("official", checks=10, seed=1)),
    (
        "design.households",
        lambda: simulate(S.replace(design=Design.srs(10**6)), checks=10, seed=1),
    ),
    ("design.villages", lambda: simulate(S.replace(**{"design.villages": 40}), checks=10, seed=1)),
    (
        "design.households",
        lambda: simulate(
            S.replace(design=Design.stratified(2000, registered_share=0.9)), checks=10, seed=1
        ),
    ),
    ("population", lambda: simulate(S, checks=10, seed=1, population="mine")),
    ("checks", lambda: povsim.simulate_checks(S, checks=-3, seed=1)),
]


@pytest.mark.parametrize(("name", "call"), BAD, ids=[f"{i}-{b[0]}" for i, b in enumerate(BAD)])
def test_bad_input_is_refused_with_the_parameter_named(name, call):
    with pytest.raises(ValueError, match=name.split(".")[-1]):
        call()


def test_population_truth_matches_a_direct_count():
    pop = County(villages=25).generate(seed=12)
    size, status, problem = pop.size, pop.status, pop.problem
    w = size[(status == 0) & problem].sum() / size[status == 0].sum()
    o = size[(status == 2) & problem].sum() / size[status == 2].sum()
    r = size[status == 1].sum()
    inc = (r + size[(status != 1) & problem].sum()) / size.sum()
    ind = pop.indicators
    assert ind.wrongful_exit == pytest.approx(w, rel=1e-12)
    assert ind.omission == pytest.approx(o, rel=1e-12)
    assert ind.incidence == pytest.approx(inc, rel=1e-12)
    assert ind.approval == pop.approve.mean()
    assert pop.verdict() == (inc < 0.03 and w < 0.02 and o < 0.02 and pop.approve.mean() >= 0.9)
    # layout: villages hold their strata contiguously
    for v in range(pop.villages):
        lo, hi = pop.village_start[v], pop.village_start[v + 1]
        assert np.all(np.diff(pop.status[lo:hi]) >= 0)


def test_population_totals_in_numpy_match_the_compiled_count():
    # Population counts its totals in NumPy; fresh kernels count them in compiled code
    pop = County(villages=25, remaining_share=0.2, household_sizes=(0.3, 0.3, 0.4)).generate(4)
    compiled = np.empty(_pop.T_NTOTALS)
    _pop.population_totals(pop.households, pop.size, pop.status, pop.problem, pop.approve, compiled)
    assert np.array_equal(pop.totals, compiled)
    assert pop.totals[_pop.T_REMAINING_HH] > 0 and pop.totals[_pop.T_WRONGFUL_PERSONS] > 0


def test_county_expected_indicators_match_the_mean_of_populations():
    county = County(villages=40, households_per_village=(80, 120), wrongful_exit_rate=0.03)
    draws = np.array([county.generate(seed=5, index=i).indicators.wrongful_exit for i in range(60)])
    se = draws.std(ddof=1) / np.sqrt(draws.size)
    assert_within_mcse(draws.mean(), se, county.expected_indicators().wrongful_exit)


def test_icc_limits():
    none = County(villages=50, approval_rate=0.8, icc_approval=0.0).generate(1)
    full = County(villages=50, approval_rate=0.8, icc_approval=1.0).generate(1)
    assert none.icc("approval") < 0.02
    assert full.icc("approval") > 0.99


def test_county_rate_change_keeps_every_other_draw():
    # common random numbers across county parameters: each village rate is a quantile at
    # its own uniform, so changing one expected rate changes only that indicator
    a = County(villages=40).generate(3)
    b = County(villages=40, wrongful_exit_rate=0.008, icc_wrongful_exit=0.05).generate(3)
    for name in ("size", "status", "approve", "village_start"):
        assert np.array_equal(getattr(a, name), getattr(b, name)), name
    omitted = a.status == 2
    assert np.array_equal(a.problem[omitted], b.problem[omitted])
    assert a.indicators.wrongful_exit != b.indicators.wrongful_exit


def test_village_rates_follow_their_beta_law():
    from povsim.county import _village_rates

    u = (np.arange(200_000) + 0.5) / 200_000  # evenly spread quantiles: moments to ~1e-4
    for mean, icc in [(0.005, 0.02), (0.3, 0.2), (0.95, 0.05)]:
        rates = _village_rates(u, mean, icc)
        assert rates.mean() == pytest.approx(mean, rel=1e-3)
        assert rates.var() == pytest.approx(mean * (1 - mean) * icc, rel=1e-2)
        assert np.all(np.diff(rates) >= 0)  # quantiles: monotone in u
        assert np.all(_village_rates(u, mean * 1.1, icc) >= rates)  # and in the mean
    assert np.all(_village_rates(u, 0.3, 0.0) == 0.3)
    assert _village_rates(u, 0.3, 1.0).mean() == pytest.approx(0.3, abs=1e-5)
    assert set(np.unique(_village_rates(u, 0.3, 1.0))) == {0.0, 1.0}


def _compiled_population(county, key, index):
    """A population drawn by the compiled generator of fresh simulations."""
    cint, cflt, cdf = county._engine_params()
    hmax, high = county.max_households, county.households_per_village[1]
    vstart = np.empty(county.villages + 1, np.int64)
    sstart = np.empty((county.villages, 4), np.int64)
    vpoor = np.empty(county.villages, np.bool_)
    size, status = np.empty(hmax, np.int64), np.empty(hmax, np.int8)
    problem, approve = np.empty(hmax, np.bool_), np.empty(hmax, np.bool_)
    scratch = (np.empty(high, np.int64), np.empty(high, np.int8))
    scratch += (np.empty(high, np.bool_), np.empty(high, np.bool_))
    n = _pop.generate_population(
        key, index, cint, cflt, cdf, vstart, sstart, vpoor, size, status, problem, approve, *scratch
    )
    return Population(vstart, sstart, vpoor, size[:n], status[:n], problem[:n], approve[:n])


def test_numpy_and_compiled_populations_follow_one_law():
    # County.generate (NumPy, fixed populations) and generate_population (compiled, fresh
    # populations) draw from their own streams; their populations must agree in law,
    # village-level variation (the ICCs) included
    from povsim._engine.rng import stream_key

    county = County(
        villages=30,
        households_per_village=(20, 60),
        wrongful_exit_rate=0.05,
        omission_rate=0.08,
        approval_rate=0.8,
        icc_wrongful_exit=0.3,
        icc_omission=0.1,
        icc_approval=0.2,
        registered_share_nonpoor=0.4,
        remaining_share=0.2,
    )
    key = stream_key(np.random.SeedSequence(7))

    def stats(pop):
        t = pop.totals
        vid = np.repeat(np.arange(pop.villages), np.diff(pop.village_start))
        village_approval = np.bincount(vid, pop.approve) / np.bincount(vid)
        return [
            *pop.indicators.as_dict().values(),
            t[_pop.T_EXITED_HH] / t[_pop.T_HOUSEHOLDS],
            t[_pop.T_REMAINING_HH] / t[_pop.T_HOUSEHOLDS],
            pop.size.mean(),
            pop.households,
            village_approval.var(),
        ]

    n = 400
    a = np.array([stats(county.generate(seed=11, index=i)) for i in range(n)])
    b = np.array([stats(_compiled_population(county, key, i)) for i in range(n)])
    z = (a.mean(0) - b.mean(0)) / np.sqrt((a.var(0, ddof=1) + b.var(0, ddof=1)) / n)
    assert np.all(np.abs(z) < 5), z


# -- team flag bounds ----------------------------------------------------------------------
@pytest.mark.parametrize(
    "measurement",
    [
        Measurement.official_2018(),
        Measurement(sensitivity=0.6, specificity=0.9, team_sd=1.5),
        Measurement(sensitivity=0.999, specificity=0.5, team_sd=0.05),
    ],
)
def test_team_flag_bounds_enclose_the_exact_probabilities(measurement):
    """Every team's exact flag probabilities lie inside the bounds of its uniforms' cell."""
    from povsim._engine import kernel
    from povsim.simulate import _measurement_vector

    meas = _measurement_vector(measurement)
    table = kernel.flag_bound_table(meas)
    g = kernel.QTAB_SIZE
    rng = np.random.default_rng(7)
    edges = np.arange(g) / g
    u = np.concatenate(
        [
            rng.random((4000, 2)),
            np.stack(np.meshgrid(edges, edges), -1).reshape(-1, 2),  # lower cell edges
            np.stack(np.meshgrid(edges, edges), -1).reshape(-1, 2) + (1 - 1e-12) / g,  # upper
        ]
    )
    u = np.clip(u, 0.0, 1.0 - 2.0**-53)
    tq = np.full((1, 2), -1.0)
    for u0, u1 in u:
        cell = int(u0 * g) * g + int(u1 * g)
        low0, low1, high0, high1 = table[cell]
        tu = np.array([[u0, u1]])
        tq[:] = -1.0
        q0 = kernel._team_prob(tq, tu, 0, 0, meas)
        q1 = kernel._team_prob(tq, tu, 0, 1, meas)
        assert low0 <= q0 <= high0, (u0, u1, low0, q0, high0)
        assert low1 <= q1 <= high1, (u0, u1, low1, q1, high1)
