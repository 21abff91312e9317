"""An emulator of whole spot checks of many counties, built from the engine's own checks.

The programme (:mod:`.programme`) and the calibration (:mod:`.calibration`) need
thousands of counties, each with its own true wrongful-exit and omission rates,
each checked once or twice. Running the engine on a fresh population for every
such county is too slow, so a :class:`CheckTable` is built once per scenario:

* a grid of rates ``g_0 = 0 < g_1 < ... < g_G``; at each grid point and for each
  of ``populations`` population seeds, one concrete population of
  ``scenario.county`` with ``wrongful_exit_rate = omission_rate = g`` (the same
  seeds at every grid point: common random numbers);
* for each population, ``checks`` engine checks (:func:`povsim.simulate_checks`):
  recorded wrongful-exit persons and exited persons, recorded omitted persons and
  never-registered persons, approving and sampled households — sampling,
  clustering and misclassification exactly as the engine draws them.

A county with rates ``(w, o)`` is then emulated by *stochastic interpolation*:
its exited side comes from grid point ``g_k`` or ``g_{k+1}`` around ``w`` (the
upper one with probability proportional to the distance in ``log`` rate, linear
below ``g_1``), one population drawn at random at that point, and one or more of
that population's checks; its never-registered side independently in the same
way around ``o``. The county's truth (wrongful-exit and omission rates, incidence,
true verdict) is that of the chosen populations; its checks are rows of the
same populations, so two checks of one county (provincial and national) are
independent given the county, as in the engine.

Approximation, stated: the recorded wrongful-exit and omission counts of one
check are taken from independent engine checks, whereas in the engine they
share the sampled villages and enumerator teams. Under the default scenario
that dependence is small (the two "nothing found" events have correlation about
0.003 at zero true rates; ``tests/test_research.py`` checks it).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

from .._seed import as_seed_sequence
from .._validate import check_count
from ..scenario import Scenario
from ..simulate import simulate_checks
from ._common import population_totals, verdict_from_counts

#: Default rate grid: zero, a geometric grid from 1e-5 to 8 %, and extra points
#: around the 2 % thresholds of the two error rates.
DEFAULT_GRID = np.unique(
    np.concatenate(
        [
            [0.0],
            np.geomspace(1e-5, 0.08, 17),
            [0.012, 0.014, 0.016, 0.018, 0.019, 0.02, 0.021, 0.022, 0.024, 0.027],
        ]
    )
)


@dataclass(frozen=True, eq=False)
class CheckTable:
    """Engine checks of populations on a grid of true error rates (see module docstring).

    Build with :func:`build_check_table`. Arrays are indexed ``[grid, population]``
    (truth) and ``[grid, population, check]`` (recorded counts).
    """

    scenario: Scenario
    grid: np.ndarray
    true_wrongful: np.ndarray
    true_omission: np.ndarray
    true_approval: np.ndarray
    totals: np.ndarray  # [grid, population, 3]: R, E, N persons
    x_w: np.ndarray
    n_w: np.ndarray
    x_o: np.ndarray
    n_o: np.ndarray
    x_a: np.ndarray
    n_a: np.ndarray
    population_seeds: tuple = field(default=())
    seed: str = field(default="")

    @property
    def populations(self) -> int:
        """Populations per grid point."""
        return int(self.true_wrongful.shape[1])

    @property
    def checks(self) -> int:
        """Engine checks per population."""
        return int(self.x_w.shape[2])

    def zero_probability(self) -> tuple[np.ndarray, np.ndarray]:
        """P(nothing recorded) per grid point: wrongful exits and omissions, averaged."""
        zw = (self.x_w == 0).mean(axis=(1, 2))
        zo = (self.x_o == 0).mean(axis=(1, 2))
        return zw, zo

    # -- emulation ----------------------------------------------------------------------
    def _grid_index(self, rate: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        g = self.grid
        rate = np.clip(np.asarray(rate, dtype=np.float64), 0.0, g[-1])
        k = np.clip(np.searchsorted(g, rate, side="right") - 1, 0, g.size - 2)
        lo, hi = g[k], g[k + 1]
        with np.errstate(divide="ignore", invalid="ignore"):
            t = np.where(
                lo > 0,
                np.log(np.maximum(rate, lo) / lo) / np.log(hi / np.where(lo > 0, lo, 1.0)),
                rate / hi,
            )
        t = np.clip(np.nan_to_num(t), 0.0, 1.0)
        return k + (rng.random(rate.shape) < t)

    def emulate(
        self,
        wrongful: np.ndarray,
        omission: np.ndarray,
        regions: np.ndarray,
        rng: np.random.Generator,
        *,
        checks: int = 1,
        rule=None,
    ) -> dict[str, np.ndarray]:
        """Emulate counties with true rates ``(wrongful, omission)`` and ``checks`` checks each.

        Parameters
        ----------
        wrongful, omission : array of float, shape S
            The counties' rates (any shape ``S``).
        regions : array of bool, shape S
            True for central counties (incidence threshold of the central region).
        rng : numpy.random.Generator
            Source of the emulator's random choices.
        checks : int
            Independent checks per county.
        rule : Rule, optional
            Default: the scenario's rule.

        Returns
        -------
        dict
            ``true_pass`` (S), ``passed`` (S + (checks,)), ``zero_w``, ``zero_o``
            (S + (checks,)), ``true_wrongful``, ``true_omission`` (S).
        """
        rule = self.scenario.rule if rule is None else rule
        shape = np.shape(wrongful)
        gw = self._grid_index(wrongful, rng)
        go = self._grid_index(omission, rng)
        pw = rng.integers(0, self.populations, size=shape)
        po = rng.integers(0, self.populations, size=shape)
        cw = rng.integers(0, self.checks, size=shape + (checks,))
        co = rng.integers(0, self.checks, size=shape + (checks,))
        tw = self.true_wrongful[gw, pw]
        to = self.true_omission[go, po]
        ta = self.true_approval[gw, pw]
        tot = self.totals[gw, pw]
        r_p, e_p, n_p = tot[..., 0], tot[..., 1], tot[..., 2]
        central = np.asarray(regions, dtype=bool)
        thr_c = rule.incidence_threshold("central")
        thr_w = rule.incidence_threshold("western")
        thr_i = np.where(central, thr_c, thr_w)
        inc = (r_p + tw * e_p + to * n_p) / (r_p + e_p + n_p)
        a_ok = (ta > rule.approval) if rule.approval_strict else (ta >= rule.approval)
        true_pass = (inc < thr_i) & (tw < rule.wrongful_exit) & (to < rule.omission) & a_ok
        passed, x_w, n_w, x_o, n_o = self._checks(gw, pw, go, po, central, cw, co, rule)
        return {
            "true_pass": true_pass,
            "passed": passed,
            "zero_w": x_w == 0,
            "zero_o": x_o == 0,
            "true_wrongful": tw,
            "true_omission": to,
            "estimate_wrongful": np.where(n_w > 0, x_w / np.maximum(n_w, 1), 0.0),
            "estimate_omission": np.where(n_o > 0, x_o / np.maximum(n_o, 1), 0.0),
            "index": (gw, pw, go, po, central),
        }

    def _checks(self, gw, pw, go, po, central, cw, co, rule):
        tot = self.totals[gw, pw]
        ix_w = (gw[..., None], pw[..., None], cw)
        ix_o = (go[..., None], po[..., None], co)
        x_w, n_w = self.x_w[ix_w], self.n_w[ix_w]
        x_o, n_o = self.x_o[ix_o], self.n_o[ix_o]
        x_a, n_a = self.x_a[ix_w], self.n_a[ix_w]
        tot_b = (tot[..., 0, None], tot[..., 1, None], tot[..., 2, None])
        passed = np.empty(cw.shape, dtype=bool)
        for region, mask in (("central", central), ("western", ~central)):
            v = verdict_from_counts(
                rule, region, x_w=x_w, n_w=n_w, x_o=x_o, n_o=n_o, x_a=x_a, n_a=n_a, totals=tot_b
            )
            passed[mask] = v[mask]
        return passed, x_w, n_w, x_o, n_o

    def recheck(self, emulated: dict, chosen: np.ndarray, rng: np.random.Generator, *, rule=None):
        """One new, independent check of the counties ``chosen`` of an :meth:`emulate` result."""
        rule = self.scenario.rule if rule is None else rule
        gw, pw, go, po, central = (a[chosen] for a in emulated["index"])
        cw = rng.integers(0, self.checks, size=gw.shape + (1,))
        co = rng.integers(0, self.checks, size=gw.shape + (1,))
        return self._checks(gw, pw, go, po, central, cw, co, rule)[0][..., 0]


def build_check_table(
    scenario: Scenario,
    *,
    grid: np.ndarray | None = None,
    populations: int = 6,
    checks: int = 256,
    seed: object = 0,
) -> CheckTable:
    """Run the engine on the grid (``len(grid) * populations`` calls of ``checks`` checks)."""
    grid = DEFAULT_GRID if grid is None else np.asarray(grid, dtype=np.float64)
    if (
        grid.ndim != 1
        or grid.size < 2
        or grid[0] != 0.0
        or np.any(np.diff(grid) <= 0)
        or grid[-1] > 1.0
    ):
        raise ValueError(
            "grid must be increasing rates in [0, 1] starting at 0, at least two of them"
        )
    populations = check_count("populations", populations, minimum=1)
    checks = check_count("checks", checks, minimum=1)
    ss = as_seed_sequence(seed)
    pop_seeds = [int(s.generate_state(1, np.uint32)[0]) for s in ss.spawn(populations)]
    check_seeds = ss.spawn(populations)
    G, P, C = grid.size, populations, checks
    tw = np.empty((G, P))
    to = np.empty((G, P))
    ta = np.empty((G, P))
    totals = np.empty((G, P, 3))
    arrays = {k: np.empty((G, P, C), np.int64) for k in ("x_w", "n_w", "x_o", "n_o", "x_a", "n_a")}
    fields = {
        "x_w": "recorded_wrongful_persons",
        "n_w": "exited_persons",
        "x_o": "recorded_omitted_persons",
        "n_o": "nonregistered_persons",
        "x_a": "approving",
        "n_a": "households",
    }
    for i, g in enumerate(grid):
        county = dataclasses.replace(
            scenario.county, wrongful_exit_rate=float(g), omission_rate=float(g)
        )
        sc = scenario.replace(county=county, population="fixed")
        for j in range(P):
            pop = county.generate(pop_seeds[j])
            ind = pop.indicators
            tw[i, j], to[i, j], ta[i, j] = ind.wrongful_exit, ind.omission, ind.approval
            totals[i, j] = population_totals(pop)
            rows = simulate_checks(sc, checks=C, seed=check_seeds[j], population=pop)
            for key, name in fields.items():
                arrays[key][i, j] = rows[name].values
    return CheckTable(
        scenario=scenario,
        grid=grid,
        true_wrongful=tw,
        true_omission=to,
        true_approval=ta,
        totals=totals,
        population_seeds=tuple(pop_seeds),
        seed=repr(seed) if isinstance(seed, int) else "SeedSequence",
        **arrays,
    )
