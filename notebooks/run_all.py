"""Execute every povsim notebook top to bottom, each in a fresh kernel.

Usage::

    python notebooks/run_all.py                  # all notebooks, POVSIM_QUICK=1 (CI)
    python notebooks/run_all.py --full           # without POVSIM_QUICK (longer)
    python notebooks/run_all.py 01-quickstart    # only the named notebooks
    python notebooks/run_all.py --write-outputs DIR   # also save executed copies in DIR

The committed notebooks carry no outputs; ``--write-outputs`` is the one command
that regenerates them with outputs (into another folder). Kernels run this
interpreter (``sys.executable``) through a temporary kernelspec, so the notebooks
see the same environment as the runner. ``POVSIM_NUMBA_CACHE=1`` and a temporary
``NUMBA_CACHE_DIR`` (unless one is set) let the kernels, and the dask workers they
start, compile povsim's kernels once for all notebooks. Any error in any cell
fails the run (exit status 1) after the remaining notebooks have run.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
KERNEL = "povsim-notebooks"


def _kernelspec(root: Path) -> None:
    spec = root / "kernels" / KERNEL
    spec.mkdir(parents=True)
    (spec / "kernel.json").write_text(
        json.dumps(
            {
                "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
                "display_name": f"povsim ({sys.executable})",
                "language": "python",
            }
        ),
        encoding="utf-8",
    )


def main(argv: list[str] | None = None) -> int:
    """Run the notebooks; return the exit status (1 if any failed)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("names", nargs="*", help="notebooks to run (default: all)")
    parser.add_argument("--full", action="store_true", help="run without POVSIM_QUICK=1")
    parser.add_argument("--timeout", type=int, default=900, help="seconds per cell")
    parser.add_argument("--write-outputs", metavar="DIR", help="save executed notebooks here")
    args = parser.parse_args(argv)

    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import CellExecutionError

    paths = sorted(HERE.glob("[0-9][0-9]-*.ipynb"))
    if args.names:
        wanted = [n.removesuffix(".ipynb") for n in args.names]  # a name or its prefix ("02")
        paths = [p for p in paths if any(p.stem == w or p.stem.startswith(w + "-") for w in wanted)]
        missing = {w for w in wanted if not any(p.stem.startswith(w) for p in paths)}
        if missing:
            print(f"no such notebook: {', '.join(sorted(missing))}", file=sys.stderr)
            return 2
    if not paths:
        print("no notebooks found", file=sys.stderr)
        return 2
    out_dir = Path(args.write_outputs) if args.write_outputs else None
    if out_dir is not None:
        out_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(prefix="povsim-nb-") as tmp:
        tmp = Path(tmp)
        _kernelspec(tmp / "jupyter")
        os.environ["JUPYTER_PATH"] = os.pathsep.join(
            [str(tmp / "jupyter"), *filter(None, [os.environ.get("JUPYTER_PATH")])]
        )
        if args.full:
            os.environ.pop("POVSIM_QUICK", None)
        else:
            os.environ["POVSIM_QUICK"] = "1"
        os.environ["POVSIM_NUMBA_CACHE"] = "1"
        os.environ.setdefault("NUMBA_CACHE_DIR", str(tmp / "numba-cache"))
        os.environ.setdefault("MPLBACKEND", "module://matplotlib_inline.backend_inline")
        failures = []
        total = time.perf_counter()
        for path in paths:
            nb = nbformat.read(path, as_version=4)
            client = NotebookClient(
                nb,
                timeout=args.timeout,
                kernel_name=KERNEL,
                resources={"metadata": {"path": str(HERE)}},
            )
            t0 = time.perf_counter()
            try:
                client.execute()
            except CellExecutionError as exc:
                failures.append(path.name)
                print(f"FAILED {path.name} after {time.perf_counter() - t0:.0f} s:\n{exc}")
            except Exception as exc:  # kernel died, timeout, ...
                failures.append(path.name)
                print(f"FAILED {path.name} after {time.perf_counter() - t0:.0f} s: {exc!r}")
            else:
                print(f"ok     {path.name}: {time.perf_counter() - t0:.0f} s", flush=True)
            if out_dir is not None:
                nbformat.write(nb, out_dir / path.name)
        mode = "full" if args.full else "POVSIM_QUICK=1"
        print(
            f"{len(paths) - len(failures)}/{len(paths)} notebooks ran ({mode}) in "
            f"{time.perf_counter() - total:.0f} s"
        )
    if failures:
        print("failed: " + ", ".join(failures), file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
