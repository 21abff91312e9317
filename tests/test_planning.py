"""Sample-size planning: exact where it can be, simulated elsewhere, sawtooth-aware."""

import numpy as np
import pytest

from povsim import County, Design, Measurement, Scenario, plan_sample_size

ONE_PERSON = County(
    villages=20,
    households_per_village=(100, 150),
    household_sizes=(1.0,),
    registered_share_poor=0.5,
    registered_share_nonpoor=0.3,
    omission_rate=0.001,
    icc_wrongful_exit=0.0,
    icc_omission=0.0,
    icc_approval=0.0,
)


def srs_scenario():
    return Scenario(
        county=ONE_PERSON,
        design=Design.stratified(400),
        measurement=Measurement(sensitivity=0.95, specificity=0.995),
    )


def check_answer(plan):
    t = plan.table
    meets = t.meets.values
    assert np.array_equal(meets, (t.false_fail.values <= 0.05) & (t.false_pass.values <= 0.05))
    if plan.households is not None:
        first = int(np.argmax(meets))
        assert plan.households == int(t.households[first])
        assert not meets[:first].any()
    if plan.stable_households is not None:
        j = int(np.flatnonzero(t.households.values == plan.stable_households)[0])
        assert meets[j:].all()
        assert j == 0 or not meets[j - 1]


def test_exact_plan_and_its_sawtooth():
    plan = plan_sample_size(
        srs_scenario(),
        passing={"county.wrongful_exit_rate": 0.005},
        failing={"county.wrongful_exit_rate": 0.06},
        households=(500, 575),
        step=25,
    )
    assert plan.method == "exact"
    assert plan.false_fail_mcse == 0.0
    check_answer(plan)
    # exact numbers for this population: 525 and 550 households meet both 5 % targets,
    # 500 and 575 do not (the number of recorded wrongful exits that fails the check
    # steps up at 525, and false fails climb again until the next step)
    assert plan.households == 525
    assert list(plan.table.meets.values) == [False, True, True, False]
    assert plan.stable_households is None
    assert "none in the range" in plan.report()
    ff = plan.table.false_fail.values
    assert ff[1] < ff[0] and ff[2] > ff[1]


def test_simulated_plan_scales_villages():
    s = Scenario(county=County(villages=60, households_per_village=(60, 120)))
    plan = plan_sample_size(
        s,
        passing={"county.wrongful_exit_rate": 0.005},
        failing={"county.wrongful_exit_rate": 0.05},
        households=(100, 900),
        per_village=20,
        checks=512,
        seed=3,
    )
    assert plan.method == "simulation"
    check_answer(plan)
    v = plan.table.villages.values
    n = plan.table.households.values
    # 20 households per village, capped at the 28 villages the county can provide
    # (18 poor villages at a 65 % share)
    assert np.all(v == np.minimum(np.maximum(1, np.floor(n / 20 + 0.5)), 28))
    assert plan.households is not None and plan.villages == min(round(plan.households / 20), 28)


def test_bad_plans_are_refused():
    s = srs_scenario()
    good = {"county.wrongful_exit_rate": 0.01}
    bad = {"county.wrongful_exit_rate": 0.04}
    with pytest.raises(ValueError, match="truly passes"):
        plan_sample_size(s, passing=bad, failing=bad)
    with pytest.raises(ValueError, match="truly fails"):
        plan_sample_size(s, passing=good, failing=good)
    with pytest.raises(ValueError, match="false_fail"):
        plan_sample_size(s, passing=good, failing=bad, false_fail=0)
    with pytest.raises(ValueError, match="households"):
        plan_sample_size(s, passing=good, failing=bad, households=(500, 100))
    with pytest.raises(ValueError, match="no closed form"):
        plan_sample_size(Scenario(), passing=good, failing=bad, method="exact")
    with pytest.raises(ValueError, match="unknown scenario field"):
        plan_sample_size(s, passing={"county.wrongful": 0.01}, failing=bad)
