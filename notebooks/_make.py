"""Generate the povsim notebooks (``*.ipynb``) from the cells written below.

The notebooks are kept as plain Python here so that they stay reviewable and are
committed without outputs. After editing a cell, run::

    python notebooks/_make.py            # rewrite notebooks/*.ipynb
    python notebooks/_make.py --check    # fail if a committed notebook differs

Each notebook reads ``POVSIM_QUICK``: with ``POVSIM_QUICK=1`` it runs in about a
minute (fewer checks, smaller grids); ``python notebooks/run_all.py`` executes them
all that way, as CI does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import nbformat

HERE = Path(__file__).resolve().parent

SETUP = """\
import os
import time  # noqa: F401

import numpy as np  # noqa: F401

import povsim
from povsim import plot, research  # noqa: F401 (not every notebook uses both)

QUICK = os.environ.get("POVSIM_QUICK") == "1"  # set by notebooks/run_all.py and CI
print(f"povsim {povsim.__version__}; quick mode: {QUICK}")"""


def md(text: str):
    """A Markdown cell."""
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str):
    """A code cell."""
    return nbformat.v4.new_code_cell(text.strip("\n"))


# -- 01 quick start ------------------------------------------------------------------------

QUICKSTART = [
    md("""
# 1. Quick start: one scenario, its OC curve, exact against simulated

povsim simulates the spot check that decided whether a Chinese poverty county could
exit in 2018: about 1000 households in about 25 villages, four indicators that must
all hold (incidence below 2 % or 3 %, wrongful-exit and omission rates below 2 %,
approval at least 90 %). This notebook runs one scenario, draws its operating
characteristic (OC) curve, and checks the engine against an exact answer.

Every Monte Carlo number comes with its Monte Carlo standard error (MCSE).
Set `POVSIM_QUICK=1` for a one-minute run.
"""),
    code(
        SETUP
        + """
CHECKS = 4096 if QUICK else 200_000"""
    ),
    md("""
## One scenario

`Scenario.official_2018` is the embedded default: a synthetic county of 200
villages, the 2018 two-stage design, illustrative imperfect measurement with the
review chain, and the official rule. The first call compiles the numba kernels
(about 20 s once per process; `POVSIM_NUMBA_CACHE=1` caches them on disk).
"""),
    code("""
scenario = povsim.Scenario.official_2018(region="western")
print(scenario.design)
print("effective sensitivity", round(scenario.measurement.effective_sensitivity, 3))
pop = scenario.county.generate(scenario.population_seed)
print("true indicators of the default county:", pop.indicators)
print("true verdict: pass" if pop.verdict(scenario.rule) else "true verdict: fail")"""),
    code("""
t0 = time.perf_counter()
ds = povsim.simulate(scenario, checks=CHECKS, seed=1)
print(f"{CHECKS} checks in {time.perf_counter() - t0:.1f} s")
print(f"P(pass) = {float(ds.p_pass):.4f} ± {float(ds.p_pass_mcse):.4f}")
print(f"false fail = {float(ds.false_fail):.4f} ± {float(ds.false_fail_mcse):.4f}")
ds[["p_flip", "p_flip_mcse"]].to_dataframe()"""),
    md("""
`p_flip` is the probability that changing the recorded status of at most `k`
sampled households reverses the verdict (the verdict margin, see
`help(povsim.simulate)`). The realised design effect says how much the village
clustering inflates the variance of each estimate:
"""),
    code(
        """cols = ["estimate_mean", "estimate_sd", "true_value"]
cols += ["design_effect", "design_effect_mcse"]
ds[cols].to_dataframe()"""
    ),
    md("""
## The OC curve

Sweep the county's true wrongful-exit rate, on common random numbers (every
point draws the same households), and plot P(pass) against the true rate of the
simulated population, with ±2 MCSE bands.
"""),
    code("""
if QUICK:
    rates = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04]
else:
    rates = list(np.arange(0.0025, 0.0426, 0.0025))
oc = povsim.sweep(
    scenario,
    {"county.wrongful_exit_rate": rates},
    checks=2048 if QUICK else 32_768,
    seed=1,
    progress=False,
)
ax = plot.oc_curve(oc)
ax.set_title("OC of the 2018 check (wrongful-exit indicator)")
ax.figure"""),
    md("""
## Exact against simulated

Where a closed form exists — one-person households, simple random sampling
stratified by registry status, independent misclassification, the point rule —
`simulate(..., method="exact")` returns the exact pass probability. The engine
must agree within a few MCSE.
"""),
    code('''
base = povsim.Scenario(
    county=povsim.County(household_sizes=(1.0,)),
    design=povsim.Design.stratified(1000),
    measurement=povsim.Measurement(sensitivity=0.9, specificity=0.995),
)
checks = 20_000 if QUICK else 1_000_000
rows = []
for w in (0.01, 0.015, 0.02, 0.025, 0.03):
    s = base.replace(**{"county.wrongful_exit_rate": w})
    ex = float(povsim.simulate(s, checks=1, seed=0, method="exact").p_pass)
    sim = povsim.simulate(s, checks=checks, seed=2)
    z = (float(sim.p_pass) - ex) / float(sim.p_pass_mcse)
    rows.append((w, ex, float(sim.p_pass), float(sim.p_pass_mcse), z))
    p, se = float(sim.p_pass), float(sim.p_pass_mcse)
    print(f"w={w:.3f}  exact {ex:.4f}  engine {p:.4f} ± {se:.4f}  z={z:+.2f}")
assert all(abs(r[-1]) <= 4 for r in rows), "engine and exact answer disagree"'''),
    md("""
## Lot quality assurance sampling, exactly

The check is an acceptance plan. `povsim.exact` gives textbook LQAS answers:
the probability that a sample of `n` with at most `c` recorded defects is
accepted (binomial, or hypergeometric for a finite lot, with Rogan–Gladen
misclassification), and the smallest plan meeting a producer's and a consumer's
risk.
"""),
    code("""
from povsim import exact

p = np.array([0.01, 0.02, 0.03])
print("P(accept), n=500, c=9:", exact.accept_probability(500, 9, p).round(3))
imperfect = exact.accept_probability(500, 9, p, sensitivity=0.79, specificity=0.9997)
print("... with Se=0.79, Sp=0.9997:", imperfect.round(3))
plan = exact.find_plan((0.01, 0.05), (0.03, 0.05))
print(plan)"""),
    md("""
## Reproducibility

The same seed gives bit-identical results, whatever the number of threads or the
chunking; the dataset records its provenance.
"""),
    code("""
again = povsim.simulate(scenario, checks=CHECKS, seed=1, chunk_blocks=1)
assert float(again.p_pass) == float(ds.p_pass)
{k: ds.attrs[k] for k in ("seed", "povsim_version", "checks")}"""),
]


# -- 02 sensitivity sweeps -----------------------------------------------------------------

SWEEPS = [
    md("""
# 2. Sensitivity sweeps and risk surfaces

What drives a wrong verdict: the sample size, the measurement, the clustering of
households in villages, or the rule? Each question is one `povsim.sweep` over
dotted scenario paths, evaluated on common random numbers so that neighbouring
points differ only by the parameter.
"""),
    code(
        SETUP
        + """
CHECKS = 1024 if QUICK else 16_384
scenario = povsim.Scenario.official_2018(region="western")
if QUICK:
    rates = [0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04]
else:
    rates = list(np.arange(0.0025, 0.0426, 0.0025))"""
    ),
    md("""
## Sample size × true rate

`sample_size_axis` changes households and villages together (40 households per
village). The risk surface shows the probability of a wrong verdict — a false
pass where the county truly fails, a false fail where it truly passes.
"""),
    code("""
sizes = [500, 1000, 2000, 4000] if QUICK else [500, 1000, 1500, 2000, 3000, 4000]
surface = povsim.sweep(
    scenario,
    {
        "county.wrongful_exit_rate": rates,
        "design.households": povsim.sample_size_axis(sizes, max_villages=80),
    },
    checks=CHECKS,
    seed=1,
    progress=False,
)
ax = plot.risk_surface(surface, "county.wrongful_exit_rate", "design.households")
ax.figure"""),
    code("""
ax = plot.oc_curve(surface, hue="design.households")
ax.figure"""),
    md("""
## Measurement: sensitivity × specificity

For a county that truly fails (2.5 % wrongful exits), P(pass) is the false-pass
risk. Enumerators who miss problems, and a review chain that drops some true
ones, push the recorded rate below the truth (Rogan–Gladen).
"""),
    code("""
failing = scenario.replace(**{"county.wrongful_exit_rate": 0.025})
meas = povsim.sweep(
    failing,
    {"measurement.sensitivity": [0.6, 0.8, 0.9, 1.0], "measurement.specificity": [0.95, 0.98, 1.0]},
    checks=CHECKS,
    seed=1,
    progress=False,
)
print("false pass (rows: sensitivity, columns: specificity)")
meas.p_pass.to_pandas().round(3)"""),
    md("""
## Clustering: the design effect

Spreading the same 1000 households over more villages lowers the design effect
(Kish: `1 + (m - 1) ρ` for `m` households per village).
"""),
    code("""
deff = povsim.sweep(
    scenario, {"design.villages": [10, 25, 50]}, checks=2 * CHECKS, seed=1, progress=False
)
ax = plot.design_effect(deff, x="design.villages")
ax.figure"""),
    md("""
## Which indicator fails the county, and which rule to use

A labelled axis compares rules on the same draws: the official point rule, a
rule that passes only when the 95 % upper Wilson bound clears the thresholds,
and a guard band of 0.3 percentage points.
"""),
    code("""
rules = povsim.sweep(
    scenario,
    {
        "county.wrongful_exit_rate": rates,
        "rule": {
            "official": {},
            "upper bound": {"rule.method": "upper_bound"},
            "guard band 0.3 pt": {"rule.guard_band": 0.003},
        },
    },
    checks=CHECKS,
    seed=1,
    progress=False,
)
ax = plot.oc_curve(rules, hue="rule")
ax.figure"""),
    code("""
ax = plot.fail_attribution(rules.sel(rule="official"), x="county.wrongful_exit_rate")
ax.figure"""),
    md("""
## What common random numbers buy

The variance of a difference between two neighbouring points, with common random
numbers against independent streams:
"""),
    code("""
crn = povsim.crn_variance_ratio(
    failing, {"measurement.sensitivity": 0.85}, {"measurement.sensitivity": 0.9},
    checks=4096 if QUICK else 100_000, seed=1,
)
print(f"difference {crn.difference:+.4f}; variance ratio CRN / independent = {crn.ratio:.3f}")"""),
]


# -- 03 one or two households --------------------------------------------------------------

FLIP = [
    md("""
# 3. Can 1–2 households flip a verdict?

Officials said that finding one or two problem households "in a 1000-household
sample will not affect the evaluation result". povsim measures this directly: the
**verdict margin** of a check is the smallest number of sampled households whose
recorded status must change to reverse its verdict (flags added to the largest
sampled households first, approval answers withdrawn; for a failing check the
reverse), with the rule re-applied. P(margin ≤ k) for k = 1, 2 tests the claim.
"""),
    code(
        SETUP
        + """
CHECKS = 1024 if QUICK else 8192
scenario = povsim.Scenario.official_2018(region="western")"""
    ),
    md("""
## The default county

Look at a few individual checks first (`simulate_checks` keeps one row per
check): the recorded counts, the fail mask (0 = pass) and the margin (11 means
more than 10).
"""),
    code("""
rows = povsim.simulate_checks(scenario, checks=8, seed=1)
cols = ["recorded_wrongful_persons", "exited_persons", "recorded_omitted_persons",
        "nonregistered_persons", "fail_mask", "margin"]
rows[cols].to_dataframe()"""),
    code("""
ds = povsim.simulate(scenario, checks=4 * CHECKS, seed=1)
print(f"P(margin <= 1) = {float(ds.p_flip.sel(k=1)):.4f} ± {float(ds.p_flip_mcse.sel(k=1)):.4f}")
print(f"P(margin <= 2) = {float(ds.p_flip.sel(k=2)):.4f} ± {float(ds.p_flip_mcse.sel(k=2)):.4f}")
ax = plot.margin_distribution(ds)
ax.figure"""),
    md("""
## Near the thresholds

`flip_map` draws one county population per true value of an indicator around its
threshold and simulates its checks.
"""),
    code("""
fm = research.flip_map(scenario, indicators=["wrongful_exit", "omission"], checks=CHECKS, seed=1)
for ind in fm.indicator.values:
    sub = fm.sel(indicator=ind).isel(households=0, design=0)
    print(ind)
    p1s, s1s = sub.p_flip.sel(k=1).values, sub.p_flip_mcse.sel(k=1).values
    p2s = sub.p_flip.sel(k=2).values
    for tv, p1, s1, p2 in zip(sub.true_value.values, p1s, s1s, p2s, strict=True):
        print(f"  true {tv:7.4%}: P(1 flips) {p1:6.3f} ± {s1:.3f}   P(2 flip) {p2:6.3f}")"""),
    code("""
from matplotlib.figure import Figure

fig = Figure(figsize=(9, 3.6))
for ax, ind in zip(fig.subplots(1, 2), fm.indicator.values, strict=True):
    sub = fm.sel(indicator=ind).isel(households=0, design=0)
    x = sub.true_value.values * 100
    for k in (1, 2):
        y, e = sub.p_flip.sel(k=k).values, sub.p_flip_mcse.sel(k=k).values
        ax.errorbar(x, y, yerr=2 * e, marker="o", ms=3, label=f"margin <= {k}")
    ax.axvline(float(fm.threshold.sel(indicator=ind)) * 100, color="k", ls=":")
    ax.set_xlabel(f"true {ind} rate (%)")
    ax.set_ylabel("P(verdict reversed)")
    ax.legend()
fig"""),
    md("""
## Over a distribution of counties

Whether the claim holds is a question about counties: `flip_claim` draws counties
from a distribution of true rates and reports the share for which P(2 households
flip) exceeds 5 %. `illustrative_distribution()` is an assumption (median rates
0.3 % and 0.2 %, a thin tail), not a fit; notebook 4 calibrates one to 2018.
"""),
    code("""
claim = research.flip_claim(
    research.illustrative_distribution(),
    scenario=scenario,
    counties=8 if QUICK else 64,
    checks=256 if QUICK else 1024,
    seed=1,
)
print(f"P(1 flips) {claim.p_flip1}, P(2 flip) {claim.p_flip2}")
print(f"claim fails (P(2 flip) > {claim.tolerance:.0%}) for {claim.share_fails} of counties")"""),
]


# -- 04 calibration and programme ----------------------------------------------------------

CALIBRATION = [
    md("""
# 4. Calibration to the 2018 results, the programme, ranking and design

The 2019 press conference published, for the 283 counties that exited in 2018,
the shares with no wrongful exit found (86.57 %), no omission found (90.46 %)
and neither (81.27 %). `research.calibrate` fits a distribution of county true
rates to these shares (approximate Bayesian computation), after asking first
whether any distribution can reach them under the assumed measurement.
"""),
    code(
        SETUP
        + """
SIMULATIONS = 2000 if QUICK else 20_000
scenario = povsim.Scenario.official_2018(region="western")
research.PublishedOutcomes.round_2018()"""
    ),
    code("""
t0 = time.perf_counter()
PREDICTIVE = 50 if QUICK else 200
fit = research.calibrate(
    scenario=scenario, simulations=SIMULATIONS, predictive=PREDICTIVE, seed=1
)
print("\\n".join(fit.summary_lines("illustrative 2018 measurement")))
print(f"({time.perf_counter() - t0:.0f} s)")"""),
    md("""
The published shares bound how noisy the recording can have been: false flags
that survive the review chain make even a county without true problems show one.
With less specific enumerators (0.98 instead of the assumed specificity) the most
the model can reach falls below the published shares:
"""),
    code("""
noisy = scenario.replace(**{"measurement.specificity": 0.98})
fit_noisy = research.calibrate(scenario=noisy, simulations=200, predictive=10, seed=2)
print("reproducible:", fit_noisy.reproducible)
for name, a, pub in zip(
    ("no wrongful exit", "no omission", "neither"),
    fit_noisy.achievable,
    fit_noisy.published.statistics,
    strict=True,
):
    print(f"  {name}: at most {a.value:.3f} ± {a.mcse:.3f} (published {pub:.4f})")"""),
    md("""
## A whole programme

283 counties checked by their provinces, 60 drawn (one per province, 22
provinces) for the national spot check. How many counties are wrongly passed,
and how many does the national check catch?
"""),
    code("""
# a CalibrationResult gives posterior predictive programmes (each draws its own fit)
for label, dist in (
    ("calibrated, posterior predictive", fit),
    ("illustrative", research.illustrative_distribution()),
):
    prog = research.simulate_programme(
        dist, scenario=scenario, replications=100 if QUICK else 1000, seed=3
    )
    print(label)
    print("\\n".join(prog.summary_lines()))"""),
    md("""
## Ranking

Can one check order two counties at 1.6 % and 1.8 % incidence? The official line
was "不打分、不排队" (no scores, no rankings).
"""),
    code("""
rank = research.rank_reliability(
    checks=500 if QUICK else 4000, replications=50 if QUICK else 400, seed=4
)
print("\\n".join(rank.summary_lines()))"""),
    md("""
## Which design keeps both risks below 5 %?

For counties one percentage point from the wrongful-exit and omission thresholds:
"""),
    code("""
rec = research.recommend_design(
    scenario,
    distances={"wrongful_exit": 0.01, "omission": 0.01},
    households=(1000, 2000, 4000),
    checks=500 if QUICK else 2000,
    seed=5,
)
print("\\n".join(rec.summary_lines()))"""),
]


# -- 05 dask -------------------------------------------------------------------------------

DASK = [
    md("""
# 5. Scaling a sweep out on dask

`povsim.sweep(..., executor=client)` ships blocks of checks to a
`dask.distributed` cluster and gives **the same numbers, bit for bit**, as the
local run: every check draws from its own random streams keyed by the seed and
its index, and blocks are folded in a fixed order. Here a tiny `LocalCluster`
with two worker processes; a real cluster (`dask-jobqueue`, Kubernetes, ...) is
used the same way. Each worker compiles the kernels once (or loads them from the
on-disk cache when `POVSIM_NUMBA_CACHE=1`). Needs `pip install 'povsim[dask]'`.
"""),
    code(
        SETUP
        + """
from dask.distributed import Client, LocalCluster  # noqa: E402

cluster = LocalCluster(
    n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
)
client = Client(cluster)
client"""
    ),
    code("""
scenario = povsim.Scenario.official_2018(region="western")
axes = {"county.wrongful_exit_rate": [0.01, 0.02, 0.03], "measurement.sensitivity": [0.8, 1.0]}
checks = 4096 if QUICK else 65_536

t0 = time.perf_counter()
on_dask = povsim.sweep(
    scenario, axes, checks=checks, seed=7, executor=client, chunk_blocks=2, progress=False
)
print(f"dask: {time.perf_counter() - t0:.1f} s (includes the workers' compilation)")
t0 = time.perf_counter()
local = povsim.sweep(scenario, axes, checks=checks, seed=7, progress=False)
print(f"local: {time.perf_counter() - t0:.1f} s")
assert np.array_equal(on_dask.p_pass.values, local.p_pass.values)
assert np.array_equal(on_dask.p_flip.values, local.p_flip.values)
print("identical:", True)
on_dask.p_pass.to_pandas()"""),
    md("""
## Resumable stores

With `store=`, each finished point is written as it completes; rerunning the same
call reads finished points back instead of recomputing them (e.g. after a worker
or the client was lost), and the result is identical.
"""),
    code("""
import tempfile

with tempfile.TemporaryDirectory() as store:
    kw = dict(checks=checks, seed=7, executor=client, store=store, progress=False)
    first = povsim.sweep(scenario, axes, **kw)
    t0 = time.perf_counter()
    again = povsim.sweep(scenario, axes, **kw)
    print(f"resumed from the store in {time.perf_counter() - t0:.2f} s")
    assert np.array_equal(first.p_pass.values, again.p_pass.values)
    print(sorted(os.listdir(store))[:4], "...")"""),
    code("""
client.close()
cluster.close()"""),
]

NOTEBOOKS = {
    "01-quickstart.ipynb": QUICKSTART,
    "02-sensitivity-sweeps.ipynb": SWEEPS,
    "03-one-or-two-households.ipynb": FLIP,
    "04-calibration-and-programme.ipynb": CALIBRATION,
    "05-dask-scale-out.ipynb": DASK,
}


def build(cells) -> nbformat.NotebookNode:
    """A notebook of ``cells`` with a Python 3 kernelspec and stable cell ids."""
    nb = nbformat.v4.new_notebook()
    nb.cells = cells
    nb.metadata = {
        "kernelspec": {"display_name": "Python 3", "language": "python", "name": "python3"},
        "language_info": {"name": "python"},
    }
    # stable cell ids so that regenerating does not change the files
    for i, cell in enumerate(nb.cells):
        cell["id"] = f"cell-{i:02d}"
    return nb


def render(cells) -> str:
    """The notebook as the text written to disk."""
    return nbformat.writes(build(cells)) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Write (or with ``--check`` compare) every notebook; return the exit status."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="fail if a notebook is stale")
    args = parser.parse_args(argv)
    stale = []
    for name, cells in NOTEBOOKS.items():
        path = HERE / name
        text = render(cells)
        if args.check:
            if not path.is_file() or path.read_text(encoding="utf-8") != text:
                stale.append(name)
        else:
            path.write_text(text, encoding="utf-8")
            print(f"wrote {path}")
    if stale:
        print("stale notebooks (run python notebooks/_make.py):", ", ".join(stale))
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
