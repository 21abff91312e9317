"""The ``povsim`` command line."""

from __future__ import annotations

import argparse
import sys
import time
from datetime import datetime
from pathlib import Path

from ._validate import check_count

DEFAULT_CHECKS = 200_000
QUICK_CHECKS = 20_000


def _new_out_dir() -> Path:
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S")
    path = Path(f"povsim-run-{stamp}")
    i = 1
    while path.exists():
        i += 1
        path = Path(f"povsim-run-{stamp}-{i}")
    return path


def _summary_lines(region: str, ds) -> list[str]:
    def pm(name: str, **sel) -> str:
        v = ds[name].sel(**sel) if sel else ds[name]
        s = ds[f"{name}_mcse"].sel(**sel) if sel else ds[f"{name}_mcse"]
        return f"{float(v):.4f} ± {float(s):.4f}"

    lines = [
        f"[{region}] {ds.attrs['checks']:,} simulated checks, seed {ds.attrs['seed']}",
        f"  P(pass)                    {pm('p_pass')}",
        f"  true verdict of the county {'pass' if float(ds.p_true_pass) == 1 else 'fail'}",
        f"  P(1 household flips)       {pm('p_flip', k=1)}",
        f"  P(<= 2 households flip)    {pm('p_flip', k=2)}",
    ]
    for ind in ds.indicator.values:
        lines.append(
            f"  {ind:<14} true {float(ds.true_value.sel(indicator=ind)):.4f}  "
            f"estimate {pm('estimate_mean', indicator=ind)}  "
            f"SD {float(ds.estimate_sd.sel(indicator=ind)):.4f}  "
            f"deff {float(ds.design_effect.sel(indicator=ind)):.2f}"
        )
    return lines


def _cmd_run(args: argparse.Namespace) -> int:
    from . import Scenario, simulate

    checks = QUICK_CHECKS if args.quick else DEFAULT_CHECKS
    if args.checks is not None:
        checks = check_count("--checks", args.checks, minimum=1)
    out = Path(args.out) if args.out else _new_out_dir()
    out.mkdir(parents=True, exist_ok=True)
    print(f"povsim run: writing to {out}/", flush=True)
    start = time.perf_counter()
    lines = ["povsim default study: the 2018 exit spot check of a synthetic county", ""]
    for region in ("central", "western"):
        ds = simulate(Scenario.official_2018(region=region), checks=checks, seed=args.seed)
        ds.to_netcdf(out / f"official_2018_{region}.nc", engine="h5netcdf")
        lines += _summary_lines(region, ds) + [""]
    lines.append(f"runtime {time.perf_counter() - start:.1f} s")
    text = "\n".join(lines) + "\n"
    (out / "summary.txt").write_text(text, encoding="utf-8")
    print(text, end="")
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``povsim`` command."""
    parser = argparse.ArgumentParser(
        prog="povsim",
        description="Monte Carlo and exact operating characteristics of household spot checks.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser(
        "run",
        help="run the default 2018 study and write its results",
        description=(
            "Run the default study (the 2018 exit spot check of a synthetic county, central "
            "and western) and write netCDF results and summary.txt into an output folder."
        ),
    )
    run.add_argument(
        "--out", metavar="DIR", help="output folder (default: a new povsim-run-* folder)"
    )
    run.add_argument("--quick", action="store_true", help="about a minute: fewer checks")
    run.add_argument("--checks", type=int, metavar="N", help="simulated checks per scenario")
    run.add_argument("--seed", type=int, default=2018, help="random seed (default 2018)")
    run.set_defaults(func=_cmd_run)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``povsim`` command."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"povsim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
