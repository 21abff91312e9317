"""The ``povsim`` command line: ``povsim run`` (studies) and ``povsim plan`` (sample sizes)."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from ._validate import check_count

DESCRIPTION = """\
Monte Carlo and exact operating characteristics of household spot checks
(China's 2018 poverty-county exit evaluation).

commands:
  povsim run               the default 2018 study (a few minutes on two cores)
  povsim run --quick       the same study, coarser (about a minute)
  povsim run study.toml    a study described in TOML (see examples/study.toml)
  povsim plan              the smallest sample meeting false-pass / false-fail targets

Results go into --out DIR (default: a new povsim-run-* folder whose name is
printed): study.nc (one netCDF group per sweep), PNG figures and summary.txt.
Every number comes with its Monte Carlo standard error.
"""

RUN_DESCRIPTION = """\
Run a study and write its results.

Without STUDY, the default 2018 study: the official 2018 check of a synthetic
county (200 villages, about 85,000 households) with imperfect enumerators and
the five-level review, in both regions; OC curves over each true indicator
(wrongful exits, omissions, approval, incidence); a sweep over sample size
(250 to 4000 households, villages scaled at 40 households each); enumerator
sensitivity and specificity; alternative thresholds and confidence-bound rules
evaluated on the same draws; the number of villages (design effect against
Kish's line); and the variance reduction of common random numbers.

With STUDY (a TOML file: title, checks, seed, [scenario], [axes], optional
[[plots]] and [crn]; see examples/study.toml and the README), that sweep.

Written into the output folder: study.nc (netCDF, one group per sweep:
xarray.open_dataset("study.nc", group="oc_wrongful_exit")), one PNG per figure,
summary.txt (headline numbers with their MCSE) and store/ (finished grid
points: rerunning the same command into the same --out folder after an
interruption resumes without recomputing them).
"""

PLAN_DESCRIPTION = """\
Find the smallest sample (households, and villages for a two-stage design) that
keeps the false-fail risk at a county that truly passes and the false-pass risk
at a county that truly fails below the targets, under the default 2018
clustering and misclassification (or --srs / --perfect). Exact (closed form)
where one exists (stratified SRS of one-person households, independent
misclassification), by simulation otherwise. Reports the smallest n that meets
the targets and the smallest n from which every larger n in the range meets
them (the risks are not monotone in n: the sawtooth).
"""


def _new_out_dir() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(f"povsim-run-{stamp}")
    i = 1
    while path.exists():
        i += 1
        path = Path(f"povsim-run-{stamp}-{i}")
    return path


def _progress(args: argparse.Namespace) -> bool | None:
    return False if args.no_progress else None


def _cmd_run(args: argparse.Namespace) -> int:
    from .study import default_study, load_study, run_study

    checks = None if args.checks is None else check_count("--checks", args.checks, minimum=1)
    seed = check_count("--seed", args.seed)
    if args.study is not None:
        if args.quick:
            raise ValueError("--quick applies to the default study; use --checks with a study file")
        study = load_study(args.study, checks=checks, seed=seed if args.seed_given else None)
    else:
        study = default_study(quick=args.quick, checks=checks, seed=seed)
    out = Path(args.out) if args.out else _new_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    print(f"povsim run: writing to {out}/", flush=True)
    start = time.perf_counter()
    try:
        result = run_study(study, out, progress=_progress(args), log=lambda s: print(s, flush=True))
    except KeyboardInterrupt:
        print(
            f"\npovsim run: interrupted; finished grid points are kept in {out}/store/ — "
            "run the same command again to resume",
            file=sys.stderr,
        )
        return 130
    print()
    print((out / "summary.txt").read_text(encoding="utf-8"), end="")
    print(f"\nwrote {out}/study.nc, {out}/summary.txt and {len(result.extras['figures'])} figures")
    print(f"povsim run: done in {time.perf_counter() - start:.1f} s")
    return 0


def _cmd_plan(args: argparse.Namespace) -> int:
    from .planning import plan_sample_size
    from .scenario import Scenario

    scenario = Scenario.official_2018(region=args.region)
    if args.srs:
        from .design import Design

        scenario = scenario.replace(design=Design.stratified(1000))
    if args.perfect:
        from .measurement import Measurement

        scenario = scenario.replace(measurement=Measurement())
    ind = args.indicator
    path = {
        "wrongful_exit": "county.wrongful_exit_rate",
        "omission": "county.omission_rate",
        "approval": "county.approval_rate",
    }[ind]
    plan = plan_sample_size(
        scenario,
        passing={path: args.passing},
        failing={path: args.failing},
        false_fail=args.false_fail,
        false_pass=args.false_pass,
        households=(args.min, args.max),
        step=args.step,
        per_village=args.per_village,
        max_villages=args.max_villages,
        checks=args.checks,
        seed=args.seed,
        method=args.method,
        progress=_progress(args),
    )
    print(plan.report())
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``povsim`` command."""
    parser = argparse.ArgumentParser(
        prog="povsim",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="{run,plan}")
    run = sub.add_parser(
        "run",
        help="run the default 2018 study (or a TOML study) and write its results",
        description=RUN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    run.add_argument("study", nargs="?", metavar="STUDY", help="a study file in TOML (optional)")
    run.add_argument(
        "--out", metavar="DIR", help="output folder (default: a new povsim-run-* folder)"
    )
    run.add_argument(
        "--quick", action="store_true", help="coarser grids, 1000 checks a point: about a minute"
    )
    run.add_argument(
        "--checks",
        type=int,
        metavar="N",
        help="simulated checks per grid point (default study: 5000, --quick 1000; "
        "MCSE of a probability <= 0.5/sqrt(N))",
    )
    run.add_argument("--seed", type=int, default=None, help="random seed (default 2018)")
    run.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    run.set_defaults(func=_cmd_run)

    plan = sub.add_parser(
        "plan",
        help="smallest sample keeping false pass and false fail below targets",
        description=PLAN_DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    plan.add_argument(
        "--indicator",
        choices=("wrongful_exit", "omission", "approval"),
        default="wrongful_exit",
        help="the indicator whose true rate differs between the two counties",
    )
    plan.add_argument(
        "--passing", type=float, default=0.015, help="its true rate at a passing county (0.015)"
    )
    plan.add_argument(
        "--failing", type=float, default=0.025, help="its true rate at a failing county (0.025)"
    )
    plan.add_argument("--false-fail", type=float, default=0.05, help="target P(fail | passing)")
    plan.add_argument("--false-pass", type=float, default=0.05, help="target P(pass | failing)")
    plan.add_argument("--min", type=int, default=250, help="smallest sample searched (250)")
    plan.add_argument("--max", type=int, default=4000, help="largest sample searched (4000)")
    plan.add_argument(
        "--step", type=int, default=None, help="households between candidates (default: auto)"
    )
    plan.add_argument("--per-village", type=int, default=40, help="households per village (40)")
    plan.add_argument("--max-villages", type=int, default=80, help="most villages (80)")
    plan.add_argument("--region", choices=("central", "western"), default="western")
    plan.add_argument("--srs", action="store_true", help="stratified SRS instead of two-stage")
    plan.add_argument(
        "--perfect", action="store_true", help="perfect measurement (no misclassification)"
    )
    plan.add_argument(
        "--method", choices=("auto", "exact", "simulate"), default="auto", help="(auto)"
    )
    plan.add_argument("--checks", type=int, default=4000, help="checks per candidate (4000)")
    plan.add_argument("--seed", type=int, default=2018, help="random seed (2018)")
    plan.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    plan.set_defaults(func=_cmd_plan)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``povsim`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "run":
        args.seed_given = args.seed is not None
        if args.seed is None:
            args.seed = 2018
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"povsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
