"""``povsim.sweep``: a grid of scenarios simulated on common random numbers.

A sweep runs :func:`povsim.simulate` at every point of a grid of scenario
changes and stacks the results into one :class:`xarray.Dataset` with one
dimension per axis. Every point uses the same seed, so every point draws from
the same random streams (common random numbers, CRN): sampling draws never
depend on the measurement or the rule, so points that differ only in those are
evaluated on the very same sampled households, and a difference between two
neighbouring points is measured on the same draws. A point of a sweep is
bit-identical to ``simulate`` of the same scenario with the same seed, whatever
the executor (in-process, a :mod:`concurrent.futures` executor or a
``dask.distributed.Client``).

Axes
----
``axes`` maps a name to the values it takes:

* ``{"measurement.sensitivity": [0.8, 0.9, 1.0]}``: the name is a dotted path of
  a scenario field and the values are plain numbers, strings, booleans or None.
* ``{"design.households": [{"design.households": 500, "design.villages": 12},
  ...]}``: each value is a dict of several paths changed together (a *zipped*
  axis, e.g. a sample size with villages scaled; :func:`sample_size_axis` builds
  one). The coordinate is the values of the path named like the axis, or
  ``0, 1, ...`` if no path has its name; every path becomes an auxiliary
  coordinate along the dimension.
* ``{"rule": {"official": {}, "upper bound": {"rule.method": "upper_bound"}}}``:
  a dict of labelled variants (labels become the coordinate).
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import math
import numbers
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ._seed import as_seed_sequence, describe
from ._validate import check_count
from ._version import __version__
from .scenario import Scenario

__all__ = [
    "CRNComparison",
    "crn_variance_ratio",
    "sample_size_axis",
    "sweep",
]

#: Meaning and units of the scenario fields most often swept (coordinate attrs).
FIELD_INFO: dict[str, tuple[str, str]] = {
    "county.region": ("region of the county (sets the incidence threshold)", ""),
    "county.villages": ("administrative villages in the county", "villages"),
    "county.poor_village_share": ("share of villages designated poor", "1"),
    "county.registered_share_poor": ("registered share of households, poor villages", "1"),
    "county.registered_share_nonpoor": ("registered share of households, other villages", "1"),
    "county.remaining_share": ("share of registered households not yet exited", "1"),
    "county.wrongful_exit_rate": ("expected true wrongful-exit rate of the county", "1"),
    "county.omission_rate": ("expected true omission rate of the county", "1"),
    "county.approval_rate": ("expected true approval rate of the county", "1"),
    "county.icc_wrongful_exit": ("intra-village correlation of wrongful exits", "1"),
    "county.icc_omission": ("intra-village correlation of omissions", "1"),
    "county.icc_approval": ("intra-village correlation of approval", "1"),
    "design.kind": ("sampling design", ""),
    "design.households": ("households sampled per check", "households"),
    "design.villages": ("villages sampled per check", "villages"),
    "design.poor_village_share": ("share of sampled villages drawn from poor villages", "1"),
    "design.registered_share": ("share of sampled households drawn from the registry", "1"),
    "design.replace": ("sampling with replacement", ""),
    "measurement.sensitivity": ("enumerator sensitivity, P(flag | true problem)", "1"),
    "measurement.specificity": ("enumerator specificity, P(no flag | no problem)", "1"),
    "measurement.team_sd": ("SD of team effects on the logit scale", "1"),
    "measurement.teams": ("enumerator teams", "teams"),
    "measurement.approval_overreport": ("P(reports approval | disapproves)", "1"),
    "measurement.approval_underreport": ("P(reports disapproval | approves)", "1"),
    "rule.incidence": ("incidence threshold (None: by region)", "1"),
    "rule.wrongful_exit": ("wrongful-exit rate threshold", "1"),
    "rule.omission": ("omission rate threshold", "1"),
    "rule.approval": ("approval threshold", "1"),
    "rule.approval_strict": ("approval must exceed (not reach) its threshold", ""),
    "rule.method": ("statistic compared with the thresholds", ""),
    "rule.bound": ("one-sided confidence bound", ""),
    "rule.confidence": ("one-sided confidence level of the bound", "1"),
    "rule.guard_band": ("guard band added to the thresholds", "1"),
    "rule.design_effect": ("design-effect allowance of the bound", "1"),
    "population": ("population mode", ""),
    "population_seed": ("seed of the fixed population", ""),
}

_STORE_FORMAT = 1
_STORE_MANIFEST = "sweep.json"


# -- axes ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Axis:
    """One normalised axis: its name, coordinate labels and the changes at each label."""

    name: str
    labels: tuple
    changes: tuple  # one dict {path: value} per label
    kind: str  # "path", "zipped" or "labelled"

    @property
    def paths(self) -> tuple[str, ...]:
        seen: dict[str, None] = {}
        for change in self.changes:
            seen.update(dict.fromkeys(change))
        return tuple(seen)


def _check_value(where: str, value: object) -> object:
    if isinstance(value, np.generic):
        value = value.item()
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, numbers.Real):
        x = float(value)
        if not math.isfinite(x):
            raise ValueError(f"{where} must be a finite number; got {value!r}")
        return x
    if isinstance(value, list | tuple):  # e.g. county.households_per_village
        return tuple(_check_value(where, v) for v in value)
    raise ValueError(f"{where} must be a number, a string, a boolean or None; got {value!r}")


def _check_path(where: str, path: object) -> str:
    if not isinstance(path, str) or not path:
        raise ValueError(f"{where} must be a dotted path of a scenario field; got {path!r}")
    return path


def _normalise_axes(axes: object) -> list[_Axis]:
    if not isinstance(axes, Mapping) or not axes:
        raise ValueError(
            "axes must be a non-empty mapping of dotted scenario paths to lists of values, "
            'e.g. {"measurement.sensitivity": [0.8, 0.9, 1.0]}; '
            f"got {axes!r}"
        )
    out = []
    seen_paths: dict[str, str] = {}
    for name, values in axes.items():
        _check_path("axes key", name)
        where = f"axes[{name!r}]"
        if isinstance(values, Mapping):
            if not values:
                raise ValueError(f"{where} must not be empty")
            labels, changes = [], []
            for label, change in values.items():
                if not isinstance(label, str) or not label:
                    raise ValueError(f"{where}: labels must be non-empty strings; got {label!r}")
                if not isinstance(change, Mapping):
                    raise ValueError(
                        f"{where}[{label!r}] must be a dict of dotted paths to values; "
                        f"got {change!r}"
                    )
                labels.append(label)
                changes.append(change)
            kind = "labelled"
        else:
            if isinstance(values, np.ndarray):
                if values.ndim != 1:
                    raise ValueError(f"{where} must be a 1-D list of values")
                values = values.tolist()
            if isinstance(values, str) or not isinstance(values, Sequence) or not values:
                raise ValueError(f"{where} must be a non-empty list of values; got {values!r}")
            if all(isinstance(v, Mapping) for v in values):
                kind = "zipped"
                changes = list(values)
                labels = None
            elif any(isinstance(v, Mapping) for v in values):
                raise ValueError(f"{where} mixes dicts and plain values")
            else:
                kind = "path"
                changes = [{name: v} for v in values]
                labels = None
        norm_changes = []
        keyset = None
        for i, change in enumerate(changes):
            if kind != "path" and not change and kind == "zipped":
                raise ValueError(f"{where}[{i}] must not be an empty dict")
            c = {}
            for path, v in change.items():
                _check_path(f"{where}[{i}] key", path)
                c[path] = _check_value(f"{where}[{i}][{path!r}]", v)
            if keyset is None:
                keyset = set(c)
            elif set(c) != keyset and kind == "zipped":
                raise ValueError(f"{where}: every value must change the same paths")
            norm_changes.append(c)
        if kind == "path":
            labels = [c[name] for c in norm_changes]
        elif kind == "zipped":
            labels = (
                [c[name] for c in norm_changes] if name in keyset else list(range(len(changes)))
            )
        for lab in labels:
            if isinstance(lab, tuple):
                raise ValueError(f"{where}: a coordinate value must be a scalar; got {lab!r}")
        if len(set(map(repr, labels))) != len(labels):
            raise ValueError(f"{where} has repeated values: {labels!r}")
        paths = set().union(*(set(c) for c in norm_changes))
        for p in paths:
            if p in seen_paths:
                raise ValueError(f"path {p!r} is swept by two axes: {seen_paths[p]!r} and {name!r}")
            seen_paths[p] = name
        out.append(_Axis(name, tuple(labels), tuple(norm_changes), kind))
    return out


def _apply(scenario: Scenario, changes: Mapping[str, Any], where: str) -> Scenario:
    """Apply dotted-path changes at once (fields of one dataclass are replaced together)."""

    def nest(obj: Any, items: dict[str, Any], prefix: str) -> Any:
        names = {f.name for f in dataclasses.fields(obj)} if dataclasses.is_dataclass(obj) else {}
        groups: dict[str, dict[str, Any]] = {}
        direct: dict[str, Any] = {}
        for path, value in items.items():
            head, _, rest = path.partition(".")
            if head not in names:
                raise ValueError(
                    f"{where}: unknown scenario field {prefix + path!r} "
                    f"(fields of {type(obj).__name__}: {', '.join(sorted(names)) or 'none'})"
                )
            if rest:
                groups.setdefault(head, {})[rest] = value
            else:
                direct[head] = value
        for head, sub in groups.items():
            if head in direct:
                raise ValueError(f"{where}: {prefix + head!r} is changed twice")
            direct[head] = nest(getattr(obj, head), sub, f"{prefix}{head}.")
        for head, value in direct.items():
            current = getattr(obj, head)
            if isinstance(current, tuple) and isinstance(value, list):
                direct[head] = tuple(value)
        return dataclasses.replace(obj, **direct)

    try:
        return nest(scenario, dict(changes), "")
    except ValueError as exc:
        if str(exc).startswith(where):
            raise
        raise ValueError(f"{where}: {exc}") from None
    except TypeError as exc:
        raise ValueError(f"{where}: {exc}") from None


def sample_size_axis(
    households: Sequence[int], *, per_village: int = 40, max_villages: int | None = None
) -> list[dict[str, int]]:
    """Values of a sample-size axis with the villages scaled (a zipped axis).

    Parameters
    ----------
    households : sequence of int
        Households sampled per check (each >= 1).
    per_village : int
        Households per sampled village (about 40 in 2018); villages are
        ``max(1, round(households / per_village))``.
    max_villages : int, optional
        Cap on the villages (so that the design fits the county); above it the
        households per village grow instead.

    Returns
    -------
    list of dict
        ``[{"design.households": n, "design.villages": v}, ...]``, for
        ``axes={"design.households": sample_size_axis([...])}``.

    Examples
    --------
    >>> sample_size_axis([250, 1000, 4000], max_villages=80)
    [{'design.households': 250, 'design.villages': 6}, {'design.households': 1000, \
'design.villages': 25}, {'design.households': 4000, 'design.villages': 80}]
    """
    per_village = check_count("per_village", per_village, minimum=1)
    if max_villages is not None:
        max_villages = check_count("max_villages", max_villages, minimum=1)
    if isinstance(households, str) or not isinstance(households, Sequence | np.ndarray):
        raise ValueError(f"households must be a list of integers >= 1; got {households!r}")
    if len(households) == 0:
        raise ValueError("households must not be empty")
    out = []
    for n in households:
        n = check_count("households", n, minimum=1)
        v = max(1, int(math.floor(n / per_village + 0.5)))
        if max_villages is not None:
            v = min(v, max_villages)
        out.append({"design.households": n, "design.villages": min(v, n)})
    return out


# -- work shipped to executors -------------------------------------------------------------

_KERNEL_LOCK = threading.Lock()
_PREP_CACHE: OrderedDict = OrderedDict()
_POP_CACHE: OrderedDict = OrderedDict()


def _population(scenario: Scenario):
    """The fixed population of ``scenario`` (cached by county and population seed)."""
    if scenario.population == "fresh":
        return None
    key = (repr(scenario.county), scenario.population_seed)
    pop = _POP_CACHE.get(key)
    if pop is None:
        pop = scenario.county.generate(scenario.population_seed)
        _POP_CACHE[key] = pop
        while len(_POP_CACHE) > 8:
            _POP_CACHE.popitem(last=False)
    else:
        _POP_CACHE.move_to_end(key)
    return pop


def _prepared(scenario: Scenario, key: np.ndarray):
    from .simulate import _prepare

    ck = (scenario.to_json(), key.tobytes())
    prep = _PREP_CACHE.get(ck)
    if prep is None:
        prep = _prepare(scenario, key, _population(scenario))
        _PREP_CACHE[ck] = prep
        while len(_PREP_CACHE) > 4:
            _PREP_CACHE.popitem(last=False)
    else:
        _PREP_CACHE.move_to_end(ck)
    return prep


def _run_task(scenario: Scenario, key: np.ndarray, checks: int, first_block: int, n_blocks: int):
    """Run blocks ``first_block ..`` of one point; return (int counts summed, float rows)."""
    from .simulate import _run_chunk

    # numba's default threading layer must not be entered from two threads at once
    with _KERNEL_LOCK:
        prep = _prepared(scenario, key)
        out_int, out_flt = _run_chunk(prep, checks, first_block, n_blocks)
    return out_int.sum(axis=0), out_flt


# -- progress ------------------------------------------------------------------------------


class _Bar:
    """Progress of a sweep: a line on stderr, or calls of a user function."""

    def __init__(self, points: int, total: int, progress: object) -> None:
        self.callback = progress if callable(progress) else None
        if progress is None:
            self.enabled = sys.stderr.isatty()
        else:
            self.enabled = bool(progress) and self.callback is None
        self.points = points
        self.total = total
        self.start = time.perf_counter()
        self.last = -math.inf
        self.shown = False

    def update(self, points_done: int, checks_done: int, fresh_checks: int) -> None:
        if self.callback is not None:
            self.callback(checks_done, self.total)
            return
        if not self.enabled:
            return
        now = time.perf_counter()
        if now - self.last < 0.2 and checks_done < self.total:
            return
        self.last = now
        elapsed = now - self.start
        rate = fresh_checks / elapsed if elapsed > 0 else 0.0
        left = (self.total - checks_done) / rate if rate > 0 else math.inf
        eta = f"{left:,.0f} s left" if math.isfinite(left) else "..."
        sys.stderr.write(
            f"\rpovsim sweep: {points_done}/{self.points} points, "
            f"{checks_done:,}/{self.total:,} checks ({100 * checks_done / self.total:5.1f} %), "
            f"{rate:,.0f} checks/s, {eta}   "
        )
        sys.stderr.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            sys.stderr.write("\n")
            sys.stderr.flush()


# -- store ---------------------------------------------------------------------------------


def _jsonable(obj: object) -> object:
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, tuple):
        return list(obj)
    raise TypeError(f"not JSON serialisable: {obj!r}")


class _Store:
    """A folder holding one small netCDF file per finished grid point.

    ``sweep.json`` records the arguments (as a fingerprint); each point file is
    written to a temporary name and renamed, so an interruption never leaves a
    half-written point behind.
    """

    def __init__(self, path: Path, manifest: dict) -> None:
        self.path = path
        self.manifest = manifest
        text = json.dumps(manifest, sort_keys=True, default=_jsonable)
        self.digest = hashlib.sha256(text.encode()).hexdigest()
        mpath = path / _STORE_MANIFEST
        if path.exists() and not path.is_dir():
            raise ValueError(f"store must be a folder; {str(path)!r} is a file")
        if mpath.exists():
            try:
                old = json.loads(mpath.read_text(encoding="utf-8"))
            except (OSError, ValueError) as exc:
                raise ValueError(
                    f"store {str(path)!r} has an unreadable {_STORE_MANIFEST}"
                ) from exc
            if old.get("digest") != self.digest:
                prev = old.get("arguments", {})
                differ = sorted(
                    k
                    for k in set(prev) | set(manifest)
                    if json.dumps(prev.get(k), sort_keys=True, default=_jsonable)
                    != json.dumps(manifest.get(k), sort_keys=True, default=_jsonable)
                )
                raise ValueError(
                    f"store {str(path)!r} was written by a sweep with other arguments "
                    f"(differing: {', '.join(differ) or 'format'}); refusing to mix results. "
                    "Use another store folder, or delete this one to start afresh."
                )
        else:
            if path.exists() and any(path.iterdir()):
                raise ValueError(
                    f"store {str(path)!r} is a non-empty folder without {_STORE_MANIFEST}; "
                    "refusing to write into it"
                )
            (path / "points").mkdir(parents=True, exist_ok=True)
            tmp = mpath.with_suffix(".json.tmp")
            tmp.write_text(
                json.dumps(
                    {"digest": self.digest, "arguments": manifest},
                    sort_keys=True,
                    indent=1,
                    default=_jsonable,
                ),
                encoding="utf-8",
            )
            os.replace(tmp, mpath)
        (path / "points").mkdir(exist_ok=True)

    def _file(self, i: int) -> Path:
        return self.path / "points" / f"{i:06d}.nc"

    def load(self, i: int) -> tuple[np.ndarray, np.ndarray] | None:
        import h5netcdf

        f = self._file(i)
        if not f.exists():
            return None
        with h5netcdf.File(f, "r") as nc:
            if nc.attrs.get("digest") != self.digest or int(nc.attrs.get("point", -1)) != i:
                raise ValueError(f"store point file {str(f)!r} does not belong to this sweep")
            return (
                np.asarray(nc.variables["ints"][:], np.int64),
                np.asarray(nc.variables["sums"][:], np.float64),
            )

    def save(self, i: int, ints: np.ndarray, sums: np.ndarray) -> None:
        # h5netcdf directly: a valid netCDF-4 file in a few milliseconds (xarray's
        # writer costs tens of milliseconds a point)
        import h5netcdf

        f = self._file(i)
        tmp = f.with_name(f.name + ".tmp")
        with h5netcdf.File(tmp, "w") as nc:
            nc.dimensions = {"count": ints.size, "sum": sums.size}
            nc.create_variable("ints", ("count",), data=ints)
            nc.create_variable("sums", ("sum",), data=sums)
            nc.attrs["digest"] = self.digest
            nc.attrs["point"] = i
        os.replace(tmp, f)


# -- the sweep -----------------------------------------------------------------------------


def _is_dask_client(executor: object) -> bool:
    return type(executor).__module__.split(".")[0] == "distributed" and hasattr(executor, "gather")


def sweep(
    scenario: Scenario,
    axes: Mapping[str, Any],
    *,
    checks: int,
    seed: object,
    executor: object = None,
    store: str | os.PathLike | None = None,
    progress: bool | Callable[[int, int], None] | None = None,
    common_random_numbers: bool = True,
    chunk_blocks: int | None = None,
):
    """Simulate every point of a grid of scenario changes, on common random numbers.

    Parameters
    ----------
    scenario : Scenario
        The base scenario; each point changes it along every axis.
    axes : mapping
        Axis name to values (see the module docstring): a dotted path to a list
        of values (``{"measurement.sensitivity": [0.8, 0.9, 1.0]}``), a name to a
        list of dicts of paths changed together (:func:`sample_size_axis`), or a
        name to a dict of labelled variants. Any field of the county, design,
        measurement or rule can be swept (``"rule.wrongful_exit"``,
        ``"county.icc_omission"``, ``"design.villages"``, ...).
    checks : int
        Simulated checks per point (>= 1).
    seed : int, numpy SeedSequence or numpy Generator
        Every point uses this seed: a point equals ``simulate(point_scenario,
        checks=checks, seed=seed)`` bit for bit.
    executor : concurrent.futures.Executor or dask.distributed.Client, optional
        Where to run the blocks of checks (default: in this process, with
        numba's threads). The result is identical whatever the executor.
    store : path, optional
        A folder where each finished point is written as it completes (one
        netCDF file per point beside a ``sweep.json`` fingerprint of the
        arguments). Rerunning the same call resumes: finished points are read
        back, not recomputed, and the result is identical to an uninterrupted
        run. A store written for other arguments is refused (``ValueError``).
    progress : bool or callable, optional
        A progress line on stderr (default: only when stderr is a terminal;
        ``False`` never). A callable is called as ``progress(checks_done,
        checks_total)`` instead.
    common_random_numbers : bool
        ``True`` (default): every point uses ``seed``. ``False``: point ``i``
        uses ``SeedSequence(seed.entropy, spawn_key=(..., i))``, independent
        streams (only to measure what CRN gains; see :func:`crn_variance_ratio`).
    chunk_blocks : int, optional
        Blocks of 1024 checks per engine call or executor task (default: about
        half a second of work locally, 64 blocks per task on an executor).
        Changes only speed, never the numbers.

    Returns
    -------
    xarray.Dataset
        Every variable of :func:`povsim.simulate` with the sweep's dimensions in
        front (in the order of ``axes``); coordinates carry ``long_name``,
        ``units`` and ``path`` attrs. ``attrs`` hold the seed, checks, the base
        scenario (``scenario_json``), the axes as JSON (``sweep_axes``) and the
        base parameters that are not swept (``param.*``).

    Raises
    ------
    ValueError
        Before any work, for an unknown path, an empty axis, a NaN or repeated
        value, a value the field refuses, a design that does not fit the
        county, ``checks < 1``, or a store written for other arguments.
    KeyboardInterrupt
        Re-raised after finished points have been stored.

    Examples
    --------
    >>> import povsim
    >>> s = povsim.Scenario(county=povsim.County(villages=30, households_per_village=(40, 80)),
    ...                     design=povsim.Design.two_stage(200, 8))
    >>> ds = povsim.sweep(s, {"measurement.sensitivity": [0.8, 1.0]}, checks=1024, seed=1)
    >>> ds.p_pass.dims
    ('measurement.sensitivity',)
    """
    from ._engine import kernel as _k
    from ._engine.rng import stream_key
    from .simulate import summarise

    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    ax = _normalise_axes(axes)
    checks = check_count("checks", checks, minimum=1, maximum=2**53)
    ss = as_seed_sequence(seed)
    if executor is not None and not hasattr(executor, "submit"):
        raise ValueError(
            "executor must be None, a concurrent.futures executor or a dask.distributed.Client; "
            f"got {executor!r}"
        )
    if store is not None and not isinstance(store, str | os.PathLike):
        raise ValueError(f"store must be a path to a folder; got {store!r}")
    if progress is not None and not isinstance(progress, bool) and not callable(progress):
        raise ValueError(f"progress must be None, True, False or a callable; got {progress!r}")
    if not isinstance(common_random_numbers, bool):
        raise ValueError(
            f"common_random_numbers must be True or False; got {common_random_numbers!r}"
        )
    if chunk_blocks is not None:
        chunk_blocks = check_count("chunk_blocks", chunk_blocks, minimum=1)

    # every point's scenario and key, validated (design fits the county) before any work
    shape = tuple(len(a.labels) for a in ax)
    scenarios: list[Scenario] = []
    for idx in itertools.product(*(range(n) for n in shape)):
        changes: dict[str, Any] = {}
        for a, j in zip(ax, idx, strict=True):
            changes.update(a.changes[j])
        where = "axes point " + ", ".join(
            f"{a.name}={a.labels[j]!r}" for a, j in zip(ax, idx, strict=True)
        )
        scenarios.append(_apply(scenario, changes, where))
    if common_random_numbers:
        key = stream_key(ss)
        keys = [key] * len(scenarios)
    else:
        keys = [
            stream_key(np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, 0x5EE9, i)))
            for i in range(len(scenarios))
        ]
    from .simulate import _prepare

    for i, (s, k) in enumerate(zip(scenarios, keys, strict=True)):
        try:
            _prepare(s, k, _population(s))
        except ValueError as exc:
            raise ValueError(f"sweep point {i} ({_describe_point(ax, shape, i)}): {exc}") from None

    manifest = {
        "format": _STORE_FORMAT,
        "povsim_version": __version__,
        "scenario": json.loads(scenario.to_json()),
        "axes": [
            {"name": a.name, "kind": a.kind, "labels": list(a.labels), "changes": list(a.changes)}
            for a in ax
        ],
        "checks": checks,
        "seed": describe(ss),
        "common_random_numbers": common_random_numbers,
    }
    st = _Store(Path(store), manifest) if store is not None else None

    n_points = len(scenarios)
    results: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    if st is not None:
        for i in range(n_points):
            got = st.load(i)
            if got is not None:
                results[i] = got
    todo = [i for i in range(n_points) if i not in results]
    bar = _Bar(n_points, n_points * checks, progress)
    state = {"points": len(results), "checks": len(results) * checks, "fresh": 0}
    if results:
        bar.update(state["points"], state["checks"], 0)

    def finished(i: int, ints: np.ndarray, sums: np.ndarray) -> None:
        results[i] = (ints, sums)
        if st is not None:
            st.save(i, ints, sums)
        state["points"] += 1

    n_blocks = -(-checks // _k.BLOCK)
    try:
        if executor is None:
            _run_local(scenarios, keys, todo, checks, n_blocks, chunk_blocks, finished, bar, state)
        else:
            _run_executor(
                executor,
                scenarios,
                keys,
                todo,
                checks,
                n_blocks,
                chunk_blocks,
                finished,
                bar,
                state,
            )
    finally:
        bar.close()

    points = []
    for i in range(n_points):
        prep = _prepare(scenarios[i], keys[i], _population(scenarios[i]))
        ints, sums = results[i]
        points.append(summarise(prep, ints, sums, checks))
    return _assemble(points, ax, shape, scenario, checks, ss, common_random_numbers)


def _describe_point(ax: list[_Axis], shape: tuple[int, ...], i: int) -> str:
    idx = np.unravel_index(i, shape)
    return ", ".join(f"{a.name}={a.labels[j]!r}" for a, j in zip(ax, idx, strict=True))


def _run_local(scenarios, keys, todo, checks, n_blocks, chunk_blocks, finished, bar, state):
    from ._engine import kernel as _k
    from .simulate import _run_chunk, _threads

    threads = _threads()
    step = chunk_blocks if chunk_blocks is not None else threads
    for i in todo:
        prep = _prepared(scenarios[i], keys[i])
        ints = np.zeros(_k.I_NCOUNTS, np.int64)
        sums = np.zeros(_k.F_NSUMS, np.float64)
        done = 0
        while done < n_blocks:
            n = min(step, n_blocks - done)
            t0 = time.perf_counter()
            out_int, out_flt = _run_chunk(prep, checks, done, n)
            ints += out_int.sum(axis=0)
            _k.fold_sums(out_flt, sums)
            new = min((done + n) * _k.BLOCK, checks) - min(done * _k.BLOCK, checks)
            done += n
            state["checks"] += new
            state["fresh"] += new
            if done < n_blocks:  # the last chunk is reported once the point is stored
                bar.update(state["points"], state["checks"], state["fresh"])
            if chunk_blocks is None:
                elapsed = time.perf_counter() - t0
                if elapsed < 0.25:
                    step = min(step * 2, 1 << 16)
                elif elapsed > 1.0 and step > threads:
                    step = max(threads, step // 2)
        finished(i, ints, sums)
        bar.update(state["points"], state["checks"], state["fresh"])


def _run_executor(
    executor, scenarios, keys, todo, checks, n_blocks, chunk_blocks, finished, bar, state
):
    from ._engine import kernel as _k

    step = chunk_blocks if chunk_blocks is not None else 64
    dask = _is_dask_client(executor)
    futures = {}
    for i in todo:
        for first in range(0, n_blocks, step):
            n = min(step, n_blocks - first)
            args = (scenarios[i], keys[i], checks, first, n)
            fut = (
                executor.submit(_run_task, *args, pure=False)
                if dask
                else executor.submit(_run_task, *args)
            )
            futures[fut] = (i, first, n)
    parts: dict[int, dict[int, tuple]] = {i: {} for i in todo}
    if dask:
        from distributed import as_completed as _as_completed
    else:
        _as_completed = concurrent.futures.as_completed
    try:
        for fut in _as_completed(list(futures)):
            i, first, n = futures[fut]
            parts[i][first] = fut.result()
            new = min((first + n) * _k.BLOCK, checks) - first * _k.BLOCK
            state["checks"] += new
            state["fresh"] += new
            if sum(len(p[1]) for p in parts[i].values()) == n_blocks:
                ints = np.zeros(_k.I_NCOUNTS, np.int64)
                sums = np.zeros(_k.F_NSUMS, np.float64)
                for b in sorted(parts[i]):  # fold strictly in block order
                    part_int, part_flt = parts[i][b]
                    ints += part_int
                    _k.fold_sums(part_flt, sums)
                del parts[i]
                finished(i, ints, sums)
            bar.update(state["points"], state["checks"], state["fresh"])
    except BaseException:
        for fut in futures:
            fut.cancel()
        raise


def _assemble(points, ax, shape, base, checks, ss, crn):
    import xarray as xr

    first = points[0]
    data = {}
    dims_front = tuple(a.name for a in ax)
    for name, var in first.data_vars.items():
        values = np.stack([p[name].values for p in points]).reshape(shape + var.shape)
        data[name] = xr.Variable(dims_front + var.dims, values, dict(var.attrs))
    coords: dict[str, Any] = {}
    base_params = base.flat_parameters()
    for a in ax:
        if a.kind == "labelled":
            attrs = {"long_name": "scenario variant", "units": ""}
        elif a.kind == "zipped" and a.name not in a.paths:
            attrs = {"long_name": "index of the combined change", "units": ""}
        else:
            long_name, units = FIELD_INFO.get(a.name, (a.name, ""))
            attrs = {"long_name": long_name, "units": units, "path": a.name}
        coords[a.name] = (a.name, _coord_values(a.labels), attrs)
        if a.kind != "path":
            for path in a.paths:
                if path == a.name:
                    continue
                long_name, units = FIELD_INFO.get(path, (path, ""))
                vals = _coord_values([c.get(path, base_params.get(path)) for c in a.changes])
                coords[path] = (
                    a.name,
                    vals,
                    {"long_name": long_name, "units": units, "path": path},
                )
    for cname, coord in first.coords.items():
        coords[cname] = coord.variable
    ds = xr.Dataset(data, coords=coords)
    swept = {p for a in ax for p in a.paths}
    attrs = {
        k: v for k, v in first.attrs.items() if not k.startswith("param.") and k != "scenario_json"
    }
    attrs.update(
        title="povsim sweep",
        seed=describe(ss),
        checks=int(checks),
        common_random_numbers=int(crn),
        scenario_json=base.to_json(),
        sweep_axes=json.dumps(
            [{"name": a.name, "labels": list(a.labels), "changes": list(a.changes)} for a in ax],
            default=_jsonable,
        ),
        population_mode=base.population,
    )
    for name, value in base.flat_parameters().items():
        if name not in swept:
            attrs[f"param.{name}"] = value
    ds.attrs = attrs
    return ds


def _coord_values(labels) -> np.ndarray:
    if any(v is None for v in labels):
        return np.array(["None" if v is None else str(v) for v in labels])
    if all(isinstance(v, bool) for v in labels):
        return np.array(labels, dtype=bool)
    if all(isinstance(v, numbers.Integral) for v in labels):
        return np.array(labels, dtype=np.int64)
    if all(isinstance(v, numbers.Real) for v in labels):
        return np.array(labels, dtype=np.float64)
    return np.array([str(v) for v in labels])


# -- what common random numbers gain -------------------------------------------------------


@dataclass(frozen=True)
class CRNComparison:
    """Variance of a difference of pass probabilities, with and without CRN.

    Attributes
    ----------
    difference : float
        ``p_pass(b) - p_pass(a)``.
    variance_crn : float
        Variance of the estimated difference when both points use the same draws.
    variance_independent : float
        Its variance when the two points use independent streams.
    ratio : float
        ``variance_crn / variance_independent`` (below 1: CRN helps).
    checks : int
        Checks per point the variances refer to.
    """

    difference: float
    variance_crn: float
    variance_independent: float
    ratio: float
    checks: int


def crn_variance_ratio(
    scenario: Scenario,
    a: Mapping[str, Any],
    b: Mapping[str, Any],
    *,
    checks: int,
    seed: object,
) -> CRNComparison:
    """Measure how much common random numbers reduce the variance of a difference.

    Simulates the two points ``a`` and ``b`` (dicts of dotted-path changes of
    ``scenario``) check by check on the same seed, and estimates from the paired
    pass indicators ``P_a``, ``P_b`` the variance of the estimated difference in
    pass probability under CRN, ``Var(P_b - P_a) / checks``, and under
    independent streams, ``(Var(P_a) + Var(P_b)) / checks``.

    Parameters
    ----------
    scenario : Scenario
        The base scenario.
    a, b : dict
        Changes defining the two points, e.g. ``{"measurement.sensitivity": 0.8}``.
    checks : int
        Checks per point (>= 2, at most 10**7: every check is held in memory).
    seed : int, numpy SeedSequence or numpy Generator
        The common seed.

    Returns
    -------
    CRNComparison
    """
    from .simulate import simulate_checks

    if not isinstance(scenario, Scenario):
        raise ValueError(f"scenario must be a povsim.Scenario; got {scenario!r}")
    checks = check_count("checks", checks, minimum=2, maximum=10**7)
    ss = as_seed_sequence(seed)
    for name, ch in (("a", a), ("b", b)):
        if not isinstance(ch, Mapping):
            raise ValueError(f"{name} must be a dict of dotted paths to values; got {ch!r}")
    sa = _apply(scenario, a, "a")
    sb = _apply(scenario, b, "b")
    pa = simulate_checks(sa, checks=checks, seed=ss)["fail_mask"].values == 0
    pb = simulate_checks(sb, checks=checks, seed=ss)["fail_mask"].values == 0
    pa = pa.astype(np.float64)
    pb = pb.astype(np.float64)
    v_crn = float(np.var(pb - pa, ddof=1)) / checks
    v_ind = float(np.var(pa, ddof=1) + np.var(pb, ddof=1)) / checks
    ratio = v_crn / v_ind if v_ind > 0 else math.nan
    return CRNComparison(
        difference=float(pb.mean() - pa.mean()),
        variance_crn=v_crn,
        variance_independent=v_ind,
        ratio=ratio,
        checks=checks,
    )
