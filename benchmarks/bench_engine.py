"""Engine benchmarks: checks per second against the random-number ceiling, side by side.

Run from the repository root::

    python benchmarks/bench_engine.py --short                  # CI: about a minute, a table
    python benchmarks/bench_engine.py --long --json OUT.json   # medians of >= 5 repetitions

Every measurement of the engine runs in its own subprocess with
``NUMBA_NUM_THREADS`` set to 1 or 2, so that thread counts do not share a numba
thread pool; the subprocesses share one on-disk numba cache in a temporary folder
(``POVSIM_NUMBA_CACHE=1``) so that only the first one compiles. In ``--long``
mode every repetition runs a 2-thread worker and then a 1-thread worker, so
that a slow spell of a shared machine weighs on both sides of each ratio. Compilation is
timed in clean processes without any cache (``--long``: the median of seven) or,
in ``--short`` mode, in the first worker, which starts from an empty cache.

What is measured, on ``Scenario.official_2018(region="western")``:

``fixed``     engine checks per second on the fixed population
``fresh``     the same with a fresh population per check
``ceiling``   uniforms per second of the engine's own generator (xoshiro256**,
              :mod:`povsim._engine.rng`) in a ``prange`` kernel that sums them,
              on the same threads: the fastest the engine could draw
``sampling``  checks per second of the sampling alone: the same villages and
              households drawn the same way (a partial shuffle of villages, then
              Floyd's algorithm in each village stratum, the household codes
              gathered) with nothing measured, judged or counted; any check that
              draws its households this way does at least this much
``frame``     checks per second of everything a check does but draw and measure
              its households: seeding its streams, drawing its teams and
              villages, answering approval, the rule, the verdict margin, the
              moments and the counts, on the counts of real engine checks
              (collected first, then taken in turn); any check does at least this
              much, however it draws its households
``twin``      checks per second of the plain-NumPy twin (:mod:`povsim._twin`, one thread)
``exact``     seconds for one exact operating-characteristic point
              (:func:`povsim.exact.official_pass_probability`, the official rule
              under stratified SRS, 1000 households) and for
              :func:`povsim.exact.accept_probability` (hypergeometric)
``compile``   the first ``simulate`` call, compilation included
``import``    ``python -c "import povsim"``
``memory``    (``--long``) peak resident memory of 10**7 official checks, and of
              ``--memory-checks`` (10**9) checks of the official county under a
              one-village design (the same engine and accumulation, about ten
              times faster per check, so that 10**9 checks take minutes)

These are benchmarks, not timed tests: they print the figures and the ratios
against the targets of issue #4 and never fail because a machine is slow.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

# checks / uniforms per repetition, per mode
SIZES = {
    "short": {
        "fixed": 100_000,
        "fresh": 25_000,
        "ceiling": 200_000_000,
        "twin": 30,
        "reps": 3,
    },
    "long": {
        "fixed": 2_000_000,
        "fresh": 200_000,
        "ceiling": 4_000_000_000,
        "twin": 400,
        "reps": 7,
    },
}


# -- inside a worker process -----------------------------------------------------------
def _scenario(fresh: bool):
    import povsim

    s = povsim.Scenario.official_2018(region="western")
    return s.replace(population="fresh") if fresh else s


def _time_engine(fresh: bool, checks: int, reps: int) -> list[float]:
    """Seconds for ``checks`` checks, ``reps`` times (after a warm-up call)."""
    import numpy as np

    sim = importlib.import_module("povsim.simulate")
    from povsim._engine.rng import stream_key

    prep = sim._prepare(_scenario(fresh), stream_key(np.random.SeedSequence(1)), None)
    sim.run_counts(prep, 4096, progress=False)  # warm-up (compiled or loaded from cache)
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        sim.run_counts(prep, checks, progress=False)
        times.append(time.perf_counter() - t0)
    return times


_CEILING = None
_SAMPLING = None
_FRAME = None


def _ceiling_kernel():
    global _CEILING
    if _CEILING is None:
        import numpy as np
        from numba import njit, prange

        from povsim._engine.rng import seed_stream, uniform

        @njit(parallel=True)
        def ceiling(key, n_blocks, per_block, out):
            for b in prange(n_blocks):
                s = np.empty(4, np.uint64)
                seed_stream(s, key, b, 0)
                acc = 0.0
                for _ in range(per_block):
                    acc += uniform(s)
                out[b] = acc

        _CEILING = ceiling
    return _CEILING


def _time_ceiling(draws: int, reps: int) -> list[float]:
    import numpy as np

    from povsim._engine.rng import stream_key

    kernel = _ceiling_kernel()
    key = stream_key(np.random.SeedSequence(1))
    n_blocks = 256
    per_block = max(1, draws // n_blocks)
    out = np.zeros(n_blocks)
    kernel(key, n_blocks, 1000, out)  # compile
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        kernel(key, n_blocks, per_block, out)
        times.append(time.perf_counter() - t0)
    assert 0.4 < out.sum() / (n_blocks * per_block) < 0.6
    return times


def _two_stage_plan(what: str) -> tuple:
    """The fixed official scenario's block-kernel arguments and scratch maker.

    Refuses (naming ``what``) any plan but two-stage sampling without replacement
    on a fixed population, which the sampling and frame kernels assume.
    """
    import numpy as np

    sim = importlib.import_module("povsim.simulate")
    from povsim._engine import kernel as k
    from povsim._engine.rng import stream_key

    prep = sim._prepare(_scenario(False), stream_key(np.random.SeedSequence(1)), None)
    fn, args, make_work = prep.plan()
    if fn is not k._block_two_stage or args[7][k.D_REPLACE]:
        raise RuntimeError(f"{what} assumes two-stage sampling without replacement")
    return args, make_work


def _sampling_kernel():
    """A ``prange`` kernel that draws two-stage samples exactly as the engine does, and no more."""
    global _SAMPLING
    if _SAMPLING is None:
        import numpy as np
        from numba import njit, prange, uint64

        from povsim._engine import kernel as k
        from povsim._engine.rng import PURPOSE_SAMPLING, next_state, seed_stream

        @njit(parallel=True)
        def sampling(key, checks, n_blocks, code, vstart, sstart, vorder, n_poor, design, out):
            per = (checks + n_blocks - 1) // n_blocks
            m = design[k.D_VILLAGES]
            m_poor = design[k.D_POOR_VILLAGES]
            b_all = design[k.D_PER_VILLAGE]
            b_reg = design[k.D_PER_VILLAGE_REGISTERED]
            max_village = max(1, np.max(vstart[1:] - vstart[:-1]))
            for b in prange(n_blocks):
                st = np.empty(4, np.uint64)
                order = vorder.copy()
                mark = np.full(max_village, -1, np.int32)
                vsel = np.zeros(m, np.int64)
                swaps = np.zeros(m, np.int64)
                stamp = 0
                total = 0
                for c in range(b * per, min((b + 1) * per, checks)):
                    seed_stream(st, key, c, PURPOSE_SAMPLING)
                    got = k._pick_design_villages(st, order, n_poor, m, m_poor, False, vsel, swaps)
                    s0, s1, s2, s3 = st[0], st[1], st[2], st[3]
                    for j in range(got):
                        for seg in range(2 if b_reg >= 0 else 1):
                            lo, n, kk = k._stratum_span(vsel[j], seg, b_all, b_reg, vstart, sstart)
                            kk = min(kk, n)
                            if kk <= 0:
                                continue
                            stamp += 1
                            jj = n - kk
                            while jj < n:
                                x, s0, s1, s2, s3 = next_state(s0, s1, s2, s3)
                                h, s0, s1, s2, s3 = k._floyd_pick(
                                    x & k._MASK32, jj, lo, code, mark, stamp, s0, s1, s2, s3
                                )
                                total += h
                                jj += 1
                                if jj < n:
                                    h, s0, s1, s2, s3 = k._floyd_pick(
                                        x >> uint64(32), jj, lo, code, mark, stamp, s0, s1, s2, s3
                                    )
                                    total += h
                                    jj += 1
                out[b] = total

        _SAMPLING = sampling
    return _SAMPLING


def _time_sampling(checks: int, reps: int) -> list[float]:
    """Seconds for the samples of ``checks`` fixed-population checks, drawn and nothing more."""
    import numpy as np

    args, _ = _two_stage_plan("the sampling floor")
    key, code, vstart, sstart, vorder, n_poor, _, design = args[:8]
    kernel = _sampling_kernel()
    n_blocks = 256
    out = np.zeros(n_blocks, np.int64)
    kernel(key, 4096, n_blocks, code, vstart, sstart, vorder, n_poor, design, out)  # compile
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        kernel(key, checks, n_blocks, code, vstart, sstart, vorder, n_poor, design, out)
        times.append(time.perf_counter() - t0)
    return times


def _frame_kernel():
    """A block kernel for the frame of a check: all the engine does but draw and measure households.

    ``frame(b, checks, ..., collect, ...)`` with ``collect`` true runs the first
    ``accs.shape[0]`` checks of the engine (:func:`povsim._engine.kernel._check_two_stage`)
    and keeps each one's counts and size histograms in ``accs`` and ``hists``.
    Otherwise it runs block ``b`` of ``checks`` checks as the engine's block kernel
    does, around the households: it seeds each check's streams and draws its teams
    (``_begin_check``), draws its villages, then takes the counts of one of the
    collected checks in turn and answers approval, applies the rule, computes the
    verdict margin and the moments and counts the check (``_finish_check``). It
    has the engine's block signature, so :func:`povsim._engine.kernel.run_blocks`
    runs it on the same threads as the engine (one kernel for both modes: one
    compilation).
    """
    global _FRAME
    if _FRAME is None:
        import numpy as np
        from numba import njit

        from povsim._engine import kernel as k

        @njit(nogil=True)
        def frame(b, checks, key, code, vstart, sstart, n_poor, totals, design, meas, rule,
                  statistic, shift, qtab, accs, hists, collect, work, ri, rf, record):  # fmt: skip
            states, order, mark, vbuf, vsel, swaps, gsz, gcnt = work[:8]
            acc, hist, hsz, qb, tq, tu, scratch = work[8:]
            teams = int(meas[k.M_TEAMS])
            if collect:
                stamp = np.int64(0)
                for c in range(accs.shape[0]):
                    k._begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
                    stamp = k._check_two_stage(
                        states[0], states[1], design, meas, teams, code, vstart, sstart, order,
                        n_poor, mark, stamp, vbuf, vsel, swaps, qb, tq, tu, acc, hist, hsz, gsz,
                        gcnt,
                    )  # fmt: skip
                    accs[c] = acc
                    hists[c] = hist
                return
            m = design[k.D_VILLAGES]
            m_poor = design[k.D_POOR_VILLAGES]
            t_inc, t_w, t_o, t_a, true_pass = k._truth(totals, rule)
            first = b * k.BLOCK
            for c in range(first, min(first + k.BLOCK, checks)):
                k._begin_check(c, key, meas, states, qtab, qb, tq, tu, acc, hist)
                k._pick_design_villages(states[0], order, n_poor, m, m_poor, False, vsel, swaps)
                row = c % accs.shape[0]
                acc[:] = accs[row]
                hist[:] = hists[row]
                k._finish_check(
                    c, first, states[1], acc, hist, totals, rule, statistic, meas, shift, t_inc,
                    t_w, t_o, t_a, true_pass, scratch, ri, rf, record,
                )  # fmt: skip

        _FRAME = frame
    return _FRAME


def _time_frame(checks: int, reps: int) -> list[float]:
    """Seconds for the frames of ``checks`` fixed-population checks (see :func:`_frame_kernel`)."""
    import numpy as np

    from povsim._engine import kernel as k

    args, make_work = _two_stage_plan("the frame")
    (key, code, vstart, sstart, _, n_poor, totals, design, meas, rule, statistic, shift,
     max_size, qtab) = args  # fmt: skip
    frame = _frame_kernel()
    accs = np.zeros((1024, k.A_NFIELDS), np.int64)
    hists = np.zeros((1024, 4, max_size + 1), np.int64)
    head = (key, code, vstart, sstart, n_poor, totals, design, meas, rule, statistic, shift, qtab)
    no_record = np.zeros((0, k.C_NFIELDS))
    out_int = np.zeros((1, k.I_NCOUNTS), np.int64)
    out_flt = np.zeros((1, k.F_NSUMS))
    frame(0, 0, *head, accs, hists, True, make_work(), out_int[0], out_flt[0], no_record)
    plan = (frame, (*head, accs, hists, False), make_work)
    n_blocks = -(-checks // k.BLOCK)
    out_int = np.zeros((n_blocks, k.I_NCOUNTS), np.int64)
    out_flt = np.zeros((n_blocks, k.F_NSUMS))
    out_rec = np.zeros((n_blocks, 0, k.C_NFIELDS))
    k.run_blocks(0, 2, 2 * k.BLOCK, plan, out_int, out_flt, out_rec)  # warm-up
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        k.run_blocks(0, n_blocks, checks, plan, out_int, out_flt, out_rec)
        times.append(time.perf_counter() - t0)
    if out_int[:, k.I_CHECKS].sum() != checks:
        raise RuntimeError("the frame kernel did not count every check")
    return times


def _time_twin(checks: int, reps: int) -> list[float]:
    from povsim._twin import simulate_twin

    s = _scenario(False)
    simulate_twin(s, checks=2, seed=0)
    times = []
    for r in range(reps):
        t0 = time.perf_counter()
        simulate_twin(s, checks=checks, seed=r)
        times.append(time.perf_counter() - t0)
    return times


def _time_exact(reps: int) -> dict[str, list[float]]:
    import numpy as np

    from povsim import exact

    def tables(wrongful, omitted, disapprove):
        # the official-rule agreement case: one-person households, stratified SRS
        ex, rem, non = 5000, 300, 20_000
        n = ex + rem + non
        approve = np.ones(n, bool)
        approve[np.linspace(0, n - 1, disapprove).round().astype(int)] = False
        out = []
        for lo, hi, bad in ((0, ex, wrongful), (ex, ex + rem, 0), (ex + rem, n, omitted)):
            prob = np.arange(hi - lo) < bad
            a = approve[lo:hi]
            out.append(
                [
                    [int(np.sum(prob & a)), int(np.sum(prob & ~a))],
                    [int(np.sum(~prob & a)), int(np.sum(~prob & ~a))],
                ]
            )
        return out

    e, r, n = tables(50, 120, 1000)
    kwargs = dict(
        exited=e,
        exited_sample=472,
        remaining=r,
        remaining_sample=28,
        nonregistered=n,
        nonregistered_sample=500,
        sensitivity=0.95,
        specificity=0.998,
        approval_overreport=0.02,
        approval_underreport=0.01,
    )
    out = {"official_pass_probability": [], "accept_probability": []}
    exact.official_pass_probability(**kwargs)
    for _ in range(reps):
        t0 = time.perf_counter()
        exact.official_pass_probability(**kwargs)
        out["official_pass_probability"].append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        exact.accept_probability(1000, 19, 0.015, population=20_000)
        out["accept_probability"].append(time.perf_counter() - t0)
    return out


def _time_first_call() -> dict:
    """Seconds for the first simulate call, compilation included: fixed, then fresh."""
    import povsim

    t0 = time.perf_counter()
    povsim.simulate(_scenario(False), checks=1024, seed=1)
    t1 = time.perf_counter()
    povsim.simulate(_scenario(True), checks=1024, seed=1)
    return {"fixed": t1 - t0, "fresh_after_fixed": time.perf_counter() - t1}


def _memory_scenario(kind: str):
    """The memory run's scenario: the official one, or its county with a one-village design.

    The small design runs the same engine, chunking and accumulation about ten
    times faster, so that 10**9 checks take minutes rather than hours; memory
    does not depend on the design beyond its scratch arrays (kilobytes).
    """
    import povsim

    s = _scenario(False)
    if kind == "small":
        s = s.replace(design=povsim.Design.two_stage(households=4, villages=1))
    return s


def _memory_run(checks: int, kind: str) -> dict:
    import resource
    import threading

    import numpy as np

    sim = importlib.import_module("povsim.simulate")
    from povsim._engine.rng import stream_key

    prep = sim._prepare(_memory_scenario(kind), stream_key(np.random.SeedSequence(1)), None)
    sim.run_counts(prep, 4096, progress=False)
    rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    samples = []  # current resident memory every few seconds (Linux /proc)
    stop = threading.Event()

    def sample():
        while not stop.wait(5.0):
            try:
                with open("/proc/self/statm") as f:
                    samples.append(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20)
            except OSError:
                return

    watcher = threading.Thread(target=sample, daemon=True)
    watcher.start()
    t0 = time.perf_counter()
    _, _, done, _ = sim.run_counts(prep, checks, progress=False)
    wall = time.perf_counter() - t0
    stop.set()
    rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "scenario": kind,
        "checks": done,
        "seconds": wall,
        "checks_per_s": done / wall,
        "rss_before_mb": rss0 / 1024,
        "rss_peak_mb": rss1 / 1024,
        "rss_first_sample_mb": samples[0] if samples else None,
        "rss_last_sample_mb": samples[-1] if samples else None,
    }


def worker(spec: dict) -> dict:
    import numba

    out = {"threads": numba.get_num_threads()}
    reps = spec["reps"]
    if spec.get("first_call"):
        out["first_call_s"] = _time_first_call()
    for name in spec.get("measure", ()):
        if name == "ceiling":
            out["ceiling_s"] = _time_ceiling(spec["ceiling"], reps)
        elif name == "sampling":
            out["sampling_s"] = _time_sampling(spec["fixed"], reps)
        elif name == "frame":
            out["frame_s"] = _time_frame(spec["fixed"], reps)
        elif name in ("fixed", "fresh"):
            out[f"{name}_s"] = _time_engine(name == "fresh", spec[name], reps)
        elif name == "twin":
            out["twin_s"] = _time_twin(spec["twin"], reps)
        elif name == "exact":
            out["exact_s"] = _time_exact(reps)
        elif name == "memory":
            out["memory"] = _memory_run(spec["memory_checks"], spec["memory_scenario"])
    return out


# -- the orchestrating process ---------------------------------------------------------
def _run_worker(spec: dict, threads: int, cache_dir: str | None, timeout: float) -> dict:
    env = dict(os.environ)
    env["NUMBA_NUM_THREADS"] = str(threads)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    if cache_dir is None:
        env.pop("POVSIM_NUMBA_CACHE", None)
        env.pop("NUMBA_CACHE_DIR", None)
    else:
        env["POVSIM_NUMBA_CACHE"] = "1"
        env["NUMBA_CACHE_DIR"] = cache_dir
    proc = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "--worker", json.dumps(spec)],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if proc.returncode != 0:
        raise RuntimeError(f"benchmark worker failed:\n{proc.stderr[-4000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _import_time(reps: int) -> list[float]:
    env = dict(os.environ)
    env["PYTHONPATH"] = ROOT + os.pathsep + env.get("PYTHONPATH", "")
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "import povsim"], env=env, check=True)
        times.append(time.perf_counter() - t0)
    base = []
    for _ in range(reps):  # the interpreter alone, to subtract
        t0 = time.perf_counter()
        subprocess.run([sys.executable, "-c", "pass"], env=env, check=True)
        base.append(time.perf_counter() - t0)
    return [t - min(base) for t in times]


def _machine() -> dict:
    import numba
    import numpy
    import scipy

    import povsim

    cpu = platform.processor()
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    cpu = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    return {
        "hostname": platform.node(),
        "platform": platform.platform(),
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "scipy": scipy.__version__,
        "povsim": povsim.__version__,
        "git": _git_revision(),
        "date_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


def _git_revision() -> str:
    try:
        rev = subprocess.run(
            ["git", "-C", ROOT, "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", ROOT, "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        return rev + ("+dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def _merge(into: dict, out: dict) -> None:
    """Add one worker's timings (lists, and the lists of ``exact_s``) to ``into``."""
    for key, value in out.items():
        if isinstance(value, list):
            into.setdefault(key, []).extend(value)
        elif key == "exact_s":
            for name, times in value.items():
                into.setdefault(key, {}).setdefault(name, []).extend(times)
        else:
            into[key] = value


def _median(xs):
    return statistics.median(xs)


def run(mode: str, *, json_path: str | None, memory_checks: int | None, twin: bool) -> dict:
    size = SIZES[mode]
    reps = size["reps"]
    base_spec = {k: v for k, v in size.items()}
    results: dict = {"mode": mode, "machine": _machine(), "sizes": size}
    t_start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="povsim-bench-") as cache:
        if mode == "long":  # each first call in a clean process of its own
            firsts = [
                _run_worker({"reps": 1, "first_call": True}, 2, None, 1200)["first_call_s"]
                for _ in range(reps)
            ]
            results["first_call_raw_s"] = firsts
            results["first_call_s"] = _median([f["fixed"] for f in firsts])
            results["first_fresh_call_s"] = _median([f["fresh_after_fixed"] for f in firsts])
            results["first_call_note"] = f"median of {reps} clean processes, no numba cache"
        # long mode alternates the thread counts, one repetition per worker, so that
        # a slow spell of a shared machine falls on both sides of every ratio
        per_threads = {2: {}, 1: {}}
        rounds = reps if mode == "long" else 1
        for _ in range(rounds):
            for threads in (2, 1):
                spec = dict(base_spec, reps=reps // rounds)
                spec["measure"] = ["ceiling", "fixed", "fresh", "sampling", "frame"]
                if threads == 2 and mode == "short":
                    spec["first_call"] = True
                if threads == 1:
                    spec["measure"] += ["exact"] + (["twin"] if twin else [])
                _merge(per_threads[threads], _run_worker(spec, threads, cache, 3600))
        if mode == "short":
            results["first_call_s"] = per_threads[2]["first_call_s"]["fixed"]
            results["first_fresh_call_s"] = per_threads[2]["first_call_s"]["fresh_after_fixed"]
            results["first_call_note"] = "first worker, empty numba cache (writes it)"
        if mode == "long" and memory_checks:
            results["memory"] = []
            for kind, checks in (("official", min(memory_checks, 10**7)), ("small", memory_checks)):
                spec = {
                    "reps": 1,
                    "measure": ["memory"],
                    "memory_checks": checks,
                    "memory_scenario": kind,
                }
                results["memory"].append(_run_worker(spec, 2, cache, 24 * 3600)["memory"])
    results["import_s"] = _import_time(reps)

    table = {}
    for threads, r in per_threads.items():
        row = {
            "ceiling_uniforms_per_s": size["ceiling"] // 256 * 256 / _median(r["ceiling_s"]),
            "fixed_checks_per_s": size["fixed"] / _median(r["fixed_s"]),
            "fresh_checks_per_s": size["fresh"] / _median(r["fresh_s"]),
            "sampling_checks_per_s": size["fixed"] / _median(r["sampling_s"]),
            "frame_checks_per_s": size["fixed"] / _median(r["frame_s"]),
            "raw": r,
        }
        table[threads] = row
    results["threads"] = {str(k): v for k, v in table.items()}
    r1 = per_threads[1]
    if twin:
        results["twin_checks_per_s"] = size["twin"] / _median(r1["twin_s"])
    results["exact_s"] = {k: _median(v) for k, v in r1["exact_s"].items()}
    results["total_benchmark_s"] = time.perf_counter() - t_start

    t1, t2 = table[1], table[2]
    ratios = {
        "fixed_vs_ceiling_per_2000_2t": t2["fixed_checks_per_s"]
        / (t2["ceiling_uniforms_per_s"] / 2000),
        "fixed_vs_ceiling_per_2000_1t": t1["fixed_checks_per_s"]
        / (t1["ceiling_uniforms_per_s"] / 2000),
        "sampling_vs_ceiling_per_2000_2t": t2["sampling_checks_per_s"]
        / (t2["ceiling_uniforms_per_s"] / 2000),
        "sampling_vs_ceiling_per_2000_1t": t1["sampling_checks_per_s"]
        / (t1["ceiling_uniforms_per_s"] / 2000),
        "frame_vs_ceiling_per_2000_2t": t2["frame_checks_per_s"]
        / (t2["ceiling_uniforms_per_s"] / 2000),
        "frame_vs_ceiling_per_2000_1t": t1["frame_checks_per_s"]
        / (t1["ceiling_uniforms_per_s"] / 2000),
        "fixed_over_sampling_2t": t2["fixed_checks_per_s"] / t2["sampling_checks_per_s"],
        "fresh_over_fixed_2t": t2["fresh_checks_per_s"] / t2["fixed_checks_per_s"],
        "threads_speedup_fixed": t2["fixed_checks_per_s"] / t1["fixed_checks_per_s"],
        "threads_speedup_fresh": t2["fresh_checks_per_s"] / t1["fresh_checks_per_s"],
        "threads_speedup_ceiling": t2["ceiling_uniforms_per_s"] / t1["ceiling_uniforms_per_s"],
    }
    if twin:
        ratios["fixed_over_twin_1t"] = t1["fixed_checks_per_s"] / results["twin_checks_per_s"]
        ratios["fixed_over_twin_2t"] = t2["fixed_checks_per_s"] / results["twin_checks_per_s"]
    results["ratios"] = ratios
    _print(results, twin)
    if json_path:
        with open(json_path, "w") as f:
            json.dump(results, f, indent=2, sort_keys=True)
        print(f"\nwrote {json_path}")
    return results


def _print(res: dict, twin: bool) -> None:
    m = res["machine"]
    print(f"povsim {m['povsim']} ({m['git']}), numba {m['numba']}, numpy {m['numpy']}")
    print(f"{m['cpu']}, {m['cpu_count']} CPUs; mode {res['mode']}, medians")
    print()
    print("| measure | 1 thread | 2 threads |")
    print("|---|---:|---:|")
    t = res["threads"]
    for key, label in (
        ("fixed_checks_per_s", "fixed population, checks/s"),
        ("fresh_checks_per_s", "fresh population, checks/s"),
        ("sampling_checks_per_s", "sampling alone, checks/s"),
        ("frame_checks_per_s", "frame alone, checks/s"),
        ("ceiling_uniforms_per_s", "ceiling, uniforms/s"),
    ):
        print(f"| {label} | {t['1'][key]:,.0f} | {t['2'][key]:,.0f} |")
    if twin:
        print(f"| NumPy twin, checks/s | {res['twin_checks_per_s']:,.1f} | |")
    print()
    r = res["ratios"]
    ok = lambda good: "met" if good else "NOT met"  # noqa: E731
    print("| target | value | |")
    print("|---|---:|---|")
    v = r["fixed_vs_ceiling_per_2000_2t"]
    print(f"| fixed >= ceiling / 2000 (2 threads) | {v:.3f} | {ok(v >= 1)} |")
    v = r["sampling_vs_ceiling_per_2000_2t"]
    print(f"| (the sampling alone against ceiling / 2000) | {v:.3f} | |")
    v = r["sampling_vs_ceiling_per_2000_1t"]
    print(f"| (the same, 1 thread) | {v:.3f} | |")
    v = r["fixed_over_sampling_2t"]
    print(f"| (fixed against the sampling alone) | {v:.3f} | |")
    v = r["frame_vs_ceiling_per_2000_2t"]
    print(f"| (the frame alone against ceiling / 2000) | {v:.3f} | |")
    v = r["frame_vs_ceiling_per_2000_1t"]
    print(f"| (the same, 1 thread) | {v:.3f} | |")
    share = 1 / r["sampling_vs_ceiling_per_2000_2t"] + 1 / r["frame_vs_ceiling_per_2000_2t"]
    print(f"| (sampling and frame, share of the budget of a check, 2 threads) | {share:.2f} | |")
    v = r["fresh_over_fixed_2t"]
    print(f"| fresh >= fixed / 4 (2 threads) | {v:.3f} | {ok(v >= 0.25)} |")
    if twin:
        v = r["fixed_over_twin_1t"]
        print(f"| fixed >= 100 x twin (1 thread each) | {v:,.0f} | {ok(v >= 100)} |")
    v = r["threads_speedup_fixed"]
    print(f"| 1 -> 2 threads (fixed) >= 1.8 | {v:.2f} | {ok(v >= 1.8)} |")
    print(f"| 1 -> 2 threads (fresh) | {r['threads_speedup_fresh']:.2f} | |")
    print(f"| 1 -> 2 threads (ceiling) | {r['threads_speedup_ceiling']:.2f} | |")
    v = res["first_call_s"]
    print(f"| first call incl. compile < 10 s | {v:.1f} s | {ok(v < 10)} |")
    print(f"| then the first fresh call | {res['first_fresh_call_s']:.1f} s | |")
    v = _median(res["import_s"])
    print(f"| import povsim < 1 s | {v:.2f} s | {ok(v < 1)} |")
    for mem in res.get("memory", ()):
        good = mem["rss_peak_mb"] < 500
        print(
            f"| memory, {mem['checks']:.2g} checks ({mem['scenario']}) < 500 MB | "
            f"{mem['rss_peak_mb']:.0f} MB (before {mem['rss_before_mb']:.0f} MB; "
            f"{mem['checks_per_s']:,.0f} checks/s) | {ok(good)} |"
        )
    e = res["exact_s"]
    print()
    print(
        f"exact OC point: official_pass_probability {e['official_pass_probability'] * 1e3:.1f} ms, "
        f"accept_probability {e['accept_probability'] * 1e3:.2f} ms"
    )
    took = res["total_benchmark_s"]
    print(f"(benchmark took {took:.0f} s; first call: {res['first_call_note']})")


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    g = p.add_mutually_exclusive_group()
    g.add_argument("--short", action="store_true", help="CI mode, about a minute (default)")
    g.add_argument("--long", action="store_true", help="medians of 7 repetitions")
    p.add_argument("--json", help="write the record to this file")
    p.add_argument(
        "--memory-checks",
        type=float,
        default=1e9,
        help="checks of the memory run (--long only; 0 skips it)",
    )
    p.add_argument("--no-twin", action="store_true", help="skip the NumPy twin")
    p.add_argument(
        "--scale", type=float, default=1.0, help="multiply the work per repetition (e.g. 0.1)"
    )
    p.add_argument("--worker", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        print(json.dumps(worker(json.loads(args.worker))))
        return
    mode = "long" if args.long else "short"
    if args.scale != 1.0:
        for key in ("fixed", "fresh", "ceiling", "twin"):
            SIZES[mode][key] = max(256, int(SIZES[mode][key] * args.scale))
    run(
        mode,
        json_path=args.json,
        memory_checks=int(args.memory_checks) if mode == "long" else None,
        twin=not args.no_twin,
    )


if __name__ == "__main__":
    main()
