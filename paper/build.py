"""Build the povsim paper: every figure and every number, from povsim, then render it.

Usage::

    python paper/build.py --out DIR [--quick] [--seed 2018]

Writes into ``DIR``:

- ``paper.md``: the paper in Markdown (figures referenced as ``figures/*.png``);
- ``paper.html``: the same paper as one self-contained HTML file (figures embedded);
- ``paper.pdf``: only where pandoc and a TeX engine are installed;
- ``figures/*.png``: every figure (matplotlib, Agg backend);
- ``numbers.json``: every number in the text with its raw value, its Monte Carlo
  standard error (MCSE) where it is a Monte Carlo estimate, and its kind;
- ``headlines.txt``: the headline findings, as in the abstract.

The text comes from ``paper/paper.md.in``. Its placeholders ``{{ name }}`` are
filled from the computations below; a placeholder without a value, a Monte Carlo
value without an MCSE, or a digit typed into the template's prose stops the build
(:func:`check_template`). ``--quick`` runs every computation with fewer checks
(about two minutes on two cores, for CI); the numbers then carry larger MCSEs.
"""

from __future__ import annotations

import argparse
import base64
import html
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

HERE = Path(__file__).resolve().parent
TEMPLATE = HERE / "paper.md.in"
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_]*)\s*\}\}")


# -- values: every number in the text ------------------------------------------------------


@dataclass(frozen=True)
class Value:
    """One number of the paper: its text, raw value, MCSE (Monte Carlo ones) and kind.

    ``kind`` is ``"mc"`` (a Monte Carlo estimate: the text shows ``± MCSE``),
    ``"exact"`` (computed exactly by povsim), ``"input"`` (a model parameter or a
    published figure the model takes as input) or ``"text"`` (words computed by
    the build, e.g. the recommended rule).
    """

    text: str
    value: float | None
    mcse: float | None
    kind: str


def mc(value: float, mcse: float, *, scale: float = 100.0, digits: int = 1, unit: str = " %"):
    """A Monte Carlo estimate as ``"12.3 ± 0.4 %"`` (``scale=100``: a percentage).

    ``digits`` is a minimum: more are shown where the MCSE would otherwise round to
    zero, so that its first significant digit is always visible.
    """
    value, mcse = float(value), float(mcse)
    if math.isnan(value):
        return Value("undefined (its condition never occurred)", value, mcse, "mc")
    if not math.isfinite(mcse):
        raise ValueError(f"a Monte Carlo value needs a finite MCSE; got {value} ± {mcse}")
    if mcse * scale > 0:  # show at least the first significant digit of the MCSE
        digits = min(max(digits, -math.floor(math.log10(mcse * scale))), 6)
    text = f"{value * scale:.{digits}f} ± {mcse * scale:.{digits}f}{unit}"
    return Value(text, value, mcse, "mc")


def est(e, **kw):
    """A :class:`povsim.research.Estimate` (``value``, ``mcse``) as :func:`mc`."""
    return mc(e.value, e.mcse, **kw)


def exact(value: float, fmt: str = "{:.3f}", kind: str = "exact") -> Value:
    """An exactly computed number (or a model input with ``kind="input"``)."""
    return Value(fmt.format(value), float(value), None, kind)


def pct(value: float, digits: int = 1, kind: str = "input") -> Value:
    """A fraction shown in percent without MCSE (inputs and exact values)."""
    return Value(f"{float(value) * 100:.{digits}f} %", float(value), None, kind)


def count(value: int, kind: str = "input") -> Value:
    """An integer with thousands separators."""
    return Value(f"{int(value):,}", float(value), None, kind)


def words(text: str) -> Value:
    """Words computed by the build."""
    return Value(text, None, None, "text")


# -- template ------------------------------------------------------------------------------

_ALLOWED_DIGITS = [
    re.compile(r"\b(?:19|20)\d\d[a-z]?\b"),  # years (citations, the 2018 round)
    re.compile(r"\b1[–-]2\b"),  # the claim under test: "1–2 households"
    re.compile(r"\b(?:Figure|Table) \d+\b"),  # cross-references
    re.compile(r"±2 MCSE"),  # the width of error bars and bands, a plotting convention
    re.compile(r"per 10,000"),  # a unit
]


def hand_typed_numbers(template: str) -> list[str]:
    """Digits typed by hand into the prose of ``template`` (should be none).

    Placeholders, the References section, image paths, HTML comments and the
    allowed tokens (years, the "1–2 households" of the claim under test, figure
    and table numbers) are ignored.
    """
    body = template.split("\n## References", 1)[0]
    body = re.sub(r"<!--.*?-->", "", body, flags=re.S)
    body = PLACEHOLDER.sub("", body)
    body = re.sub(r"(!\[[^\]]*\])\([^)]*\)", r"\1", body)  # image paths, not captions
    for pattern in _ALLOWED_DIGITS:
        body = pattern.sub("", body)
    return re.findall(r"\S*\d\S*", body)


def check_template(template: str, values: dict[str, Value]) -> None:
    """Refuse a template with missing values, Monte Carlo values without MCSE, or typed digits."""
    names = set(PLACEHOLDER.findall(template))
    missing = sorted(names - set(values))
    if missing:
        raise ValueError(f"placeholders without a value: {', '.join(missing)}")
    for name in names:
        v = values[name]
        if v.kind == "mc" and not math.isnan(v.value) and "±" not in v.text:
            raise ValueError(f"{name}: a Monte Carlo value must show its MCSE; got {v.text!r}")
    typed = hand_typed_numbers(template)
    if typed:
        raise ValueError(f"numbers typed by hand in the template: {typed}")


def fill(template: str, values: dict[str, Value]) -> str:
    """Fill every ``{{ name }}`` of ``template`` (after :func:`check_template`)."""
    check_template(template, values)
    return PLACEHOLDER.sub(lambda m: values[m.group(1)].text, template)


# -- a small Markdown renderer (no dependency beyond the standard library) -----------------


def _inline(text: str) -> str:
    out = html.escape(text, quote=False)
    out = re.sub(r"`([^`]+)`", r"<code>\1</code>", out)
    out = re.sub(r"\*\*([^*]+)\*\*", r"<strong>\1</strong>", out)
    out = re.sub(r"(?<![*\w])\*([^*\s][^*]*)\*(?!\w)", r"<em>\1</em>", out)
    out = re.sub(r"\[([^\]]+)\]\(([^)\s]+)\)", r'<a href="\2">\1</a>', out)
    return out


def _image(alt: str, src: str, base: Path | None) -> str:
    ref = src
    if base is not None and (base / src).is_file():
        data = base64.b64encode((base / src).read_bytes()).decode("ascii")
        ref = f"data:image/png;base64,{data}"
    return (
        f'<figure><img src="{ref}" alt="{html.escape(alt)}">'
        f"<figcaption>{_inline(alt)}</figcaption></figure>"
    )


def markdown_to_html(text: str, *, base: Path | None = None, title: str = "povsim") -> str:
    """Render the Markdown subset the paper uses into a self-contained HTML page.

    Headings (``#`` to ``####``), paragraphs, ``-`` lists, ``>`` quotes, pipe
    tables, images on a line of their own (embedded from ``base`` when found),
    ``**bold**``, ``*emphasis*``, ``code`` and ``[links](url)``.
    """
    lines = text.splitlines()
    out: list[str] = []
    i = 0
    while i < len(lines):
        line = lines[i]
        stripped = line.strip()
        if not stripped or stripped.startswith("<!--"):
            if stripped.startswith("<!--"):
                while "-->" not in lines[i]:
                    i += 1
            i += 1
            continue
        m = re.match(r"^(#{1,4})\s+(.*)$", stripped)
        if m:
            level = len(m.group(1))
            anchor = re.sub(r"[^a-z0-9]+", "-", m.group(2).lower()).strip("-")
            out.append(f'<h{level} id="{anchor}">{_inline(m.group(2))}</h{level}>')
            i += 1
            continue
        m = re.match(r"^!\[([^\]]*)\]\(([^)]+)\)$", stripped)
        if m:
            out.append(_image(m.group(1), m.group(2), base))
            i += 1
            continue
        if stripped.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].strip().startswith("|"):
                rows.append([c.strip() for c in lines[i].strip().strip("|").split("|")])
                i += 1
            head, body = rows[0], [r for r in rows[1:] if not all(set(c) <= set("-: ") for c in r)]
            cells = "".join(f"<th>{_inline(c)}</th>" for c in head)
            parts = [f"<table><thead><tr>{cells}</tr></thead><tbody>"]
            for r in body:
                parts.append("<tr>" + "".join(f"<td>{_inline(c)}</td>" for c in r) + "</tr>")
            parts.append("</tbody></table>")
            out.append("".join(parts))
            continue
        if stripped.startswith("- "):
            items: list[str] = []
            while i < len(lines) and (
                lines[i].strip().startswith("- ") or (lines[i].startswith("  ") and items)
            ):
                s = lines[i].strip()
                if s.startswith("- "):
                    items.append(s[2:])
                else:
                    items[-1] += " " + s
                i += 1
            out.append("<ul>" + "".join(f"<li>{_inline(t)}</li>" for t in items) + "</ul>")
            continue
        if stripped.startswith(">"):
            quote = []
            while i < len(lines) and lines[i].strip().startswith(">"):
                quote.append(lines[i].strip()[1:].strip())
                i += 1
            out.append(f"<blockquote><p>{_inline(' '.join(quote))}</p></blockquote>")
            continue
        para = []
        while (
            i < len(lines)
            and lines[i].strip()
            and not re.match(r"^(#{1,4}\s|!\[|\||- |>|<!--)", lines[i].strip())
        ):
            para.append(lines[i].strip())
            i += 1
        out.append(f"<p>{_inline(' '.join(para))}</p>")
    css = (
        "body{max-width:46em;margin:2em auto;padding:0 1em;font:16px/1.55 Georgia,serif;"
        "color:#222}h1{font-size:1.7em;line-height:1.25}h2{margin-top:1.8em;border-bottom:"
        "1px solid #ddd}h3{margin-top:1.4em}figure{margin:1.5em 0;text-align:center}"
        "img{max-width:100%}figcaption{font-size:.9em;color:#444;text-align:left}"
        "table{border-collapse:collapse;margin:1em 0;font-size:.92em}td,th{border:1px solid "
        "#ccc;padding:.25em .6em;text-align:left}th{background:#f4f4f4}blockquote{margin:1em 0;"
        "padding:.5em 1em;background:#f7f7f7;border-left:4px solid #0b3c5d}code{font-size:.9em}"
    )
    return (
        "<!DOCTYPE html>\n<html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{css}</style></head><body>\n"
        + "\n".join(out)
        + "\n</body></html>\n"
    )


# -- the computations ----------------------------------------------------------------------


@dataclass(frozen=True)
class Sizes:
    """How much Monte Carlo work each part does (``quick`` for CI)."""

    default_checks: int
    exact_checks: int
    oc_checks: int
    oc_rates: tuple
    surface_checks: int
    deff_checks: int
    measurement_checks: int
    flip_checks: int
    claim_counties: int
    claim_checks: int
    table_every: int
    table_populations: int
    table_checks: int
    calibration_simulations: int
    calibration_predictive: int
    programme_replications: int
    rank_checks: int
    rank_replications: int
    recommend_checks: int

    @classmethod
    def make(cls, quick: bool) -> Sizes:
        if quick:
            return cls(
                default_checks=20_000,
                exact_checks=20_000,
                oc_checks=2048,
                oc_rates=(0.005, 0.01, 0.015, 0.02, 0.025, 0.03, 0.04),
                surface_checks=1024,
                deff_checks=4096,
                measurement_checks=4096,
                flip_checks=1024,
                claim_counties=16,
                claim_checks=512,
                table_every=2,
                table_populations=3,
                table_checks=128,
                calibration_simulations=3000,
                calibration_predictive=100,
                programme_replications=200,
                rank_checks=1000,
                rank_replications=100,
                recommend_checks=1000,
            )
        return cls(
            default_checks=1_000_000,
            exact_checks=200_000,
            oc_checks=32_768,
            oc_rates=tuple(round(0.0025 * i, 4) for i in range(1, 17)),
            surface_checks=8192,
            deff_checks=65_536,
            measurement_checks=65_536,
            flip_checks=4096,
            claim_counties=64,
            claim_checks=1024,
            table_every=1,
            table_populations=6,
            table_checks=256,
            calibration_simulations=20_000,
            calibration_predictive=200,
            programme_replications=1000,
            rank_checks=4000,
            rank_replications=400,
            recommend_checks=2000,
        )


class Build:
    """Runs every computation, collecting values and figures."""

    def __init__(self, out: Path, *, quick: bool, seed: int, log=print) -> None:
        import numpy as np

        self.out = out
        self.figures = out / "figures"
        self.figures.mkdir(parents=True, exist_ok=True)
        self.quick = quick
        self.sizes = Sizes.make(quick)
        self.seed = seed
        self.seeds = iter(np.random.SeedSequence(seed).spawn(64))
        self.values: dict[str, Value] = {}
        self.timings: dict[str, float] = {}
        self.headlines: list[str] = []
        self.log = log

    # helpers
    def put(self, name: str, value: Value) -> None:
        if name in self.values:
            raise ValueError(f"value {name!r} set twice")
        self.values[name] = value

    def next_seed(self):
        return next(self.seeds)

    def save(self, ax_or_fig, name: str) -> None:
        fig = getattr(ax_or_fig, "figure", ax_or_fig)
        fig.savefig(self.figures / f"{name}.png", dpi=130, bbox_inches="tight")
        import matplotlib.pyplot as plt

        plt.close(fig)

    def run(self) -> None:
        steps = [
            ("model", self.model),
            ("default check", self.default_check),
            ("exact validation", self.validation),
            ("OC curves", self.oc_curves),
            ("risk surface", self.surface),
            ("measurement", self.measurement),
            ("design effect", self.design_effects),
            ("calibration", self.calibration),
            ("flip", self.flip),
            ("programme", self.programme),
            ("ranking", self.ranking),
            ("recommendation", self.recommendation),
        ]
        for name, step in steps:
            t0 = time.perf_counter()
            step()
            self.timings[name] = time.perf_counter() - t0
            self.log(f"  {name}: {self.timings[name]:.1f} s")

    # 1. the model and its inputs
    def model(self) -> None:
        import inspect

        import povsim
        from povsim.research import PublishedOutcomes, simulate_programme
        from povsim.research.programme import DEFAULT_REGIONS

        sc = povsim.Scenario.official_2018(region="western")
        self.scenario = sc
        c, d, m, r = sc.county, sc.design, sc.measurement, sc.rule
        put = self.put
        put("version", words(povsim.__version__))
        put("county_villages", count(c.villages))
        put("county_poor_share", pct(c.poor_village_share, 0))
        put("county_hh_low", count(c.households_per_village[0]))
        put("county_hh_high", count(c.households_per_village[1]))
        put("county_w", pct(c.wrongful_exit_rate, 1))
        put("county_o", pct(c.omission_rate, 1))
        put("county_approval", pct(c.approval_rate, 0))
        put("county_icc_w", exact(c.icc_wrongful_exit, "{:.2f}", "input"))
        put("county_icc_a", exact(c.icc_approval, "{:.2f}", "input"))
        put("county_reg_poor", pct(c.registered_share_poor, 0))
        put("county_reg_nonpoor", pct(c.registered_share_nonpoor, 0))
        put("county_remaining", pct(c.remaining_share, 0))
        put("design_households", count(d.households))
        put("design_villages", count(d.villages))
        put("design_per_village", count(d.per_village))
        put("design_poor_share", pct(d.poor_village_share, 0))
        put("design_registered_share", pct(d.registered_share, 0))
        put("se", exact(m.sensitivity, "{:g}", "input"))
        put("sp", exact(m.specificity, "{:g}", "input"))
        put("team_sd", exact(m.team_sd, "{:.1f}", "input"))
        put("review_stages", count(len(m.review)))
        put("review_true", pct(m.review_true, 1, "exact"))
        put("review_false", pct(m.review_false, 2, "exact"))
        put("se_eff", exact(m.effective_sensitivity, "{:.3f}"))
        f = 1.0 - m.effective_specificity
        self.false_flag = f
        put("false_flags_10k", exact(f * 1e4, "{:.1f}"))
        put("t_w", pct(r.wrongful_exit, 0))
        put("t_o", pct(r.omission, 0))
        put("t_a", pct(r.approval, 0))
        put("t_inc_central", pct(r.incidence_threshold("central"), 0))
        put("t_inc_western", pct(r.incidence_threshold("western"), 0))
        pop = c.generate(sc.population_seed)
        self.population = pop
        ind = pop.indicators
        put("pop_households", count(pop.households, "exact"))
        put("pop_persons", count(pop.persons, "exact"))
        put("pop_w", pct(ind.wrongful_exit, 2, "exact"))
        put("pop_o", pct(ind.omission, 2, "exact"))
        put("pop_inc", pct(ind.incidence, 2, "exact"))
        put("pop_a", pct(ind.approval, 1, "exact"))
        pub = PublishedOutcomes.round_2018()
        put("pub_counties", count(pub.counties))
        put("pub_central", count(pub.central))
        put("pub_western", count(pub.counties - pub.central))
        put("pub_no_w", pct(pub.no_wrongful, 2))
        put("pub_no_o", pct(pub.no_omission, 2))
        put("pub_neither", pct(pub.neither, 2))
        params = inspect.signature(simulate_programme).parameters
        put("prog_counties", count(sum(DEFAULT_REGIONS.values())))
        put("prog_national", count(params["national"].default))
        put("prog_provinces", count(params["provinces"].default))
        put(
            "quick_note",
            words("quick build (fewer checks, larger MCSE)" if self.quick else "full build"),
        )

    # 2. the default county under the default check
    def default_check(self) -> None:
        import povsim
        from povsim import plot

        n = self.sizes.default_checks
        ds = povsim.simulate(self.scenario, checks=n, seed=self.next_seed())
        self.default_ds = ds
        put = self.put
        put("default_checks", count(n))
        put("default_p_pass", mc(ds.p_pass, ds.p_pass_mcse, digits=2))
        put("default_false_fail", mc(ds.false_fail, ds.false_fail_mcse, digits=2))
        tol = 0.05  # flip_claim's default tolerance, used in the text
        self.put(
            "default_claim_sentence",
            words(
                "the claim fails for it, although the county is well inside every threshold: "
                "its recorded rates scatter, and two large households move a rate of persons a "
                "long way."
                if float(ds.p_flip.sel(k=2)) > tol
                else "the claim holds for it."
            ),
        )
        for k in (1, 2):
            put(f"default_flip{k}", mc(ds.p_flip.sel(k=k), ds.p_flip_mcse.sel(k=k), digits=2))
        for name, key in (("wrongful_exit", "w"), ("omission", "o"), ("approval", "a")):
            put(
                f"default_deff_{key}",
                mc(
                    ds.design_effect.sel(indicator=name),
                    ds.design_effect_mcse.sel(indicator=name),
                    scale=1,
                    digits=2,
                    unit="",
                ),
            )
        hh = ds.sampled_households.values
        put("default_exited_sampled", exact(hh[0], "{:.0f}", "mc_mean"))
        put("default_nonreg_sampled", exact(hh[1], "{:.0f}", "mc_mean"))
        ax = plot.margin_distribution(ds)
        ax.set_title("Verdict margin of the default county (official rule)")
        self.save(ax, "margin")

    # 3. exact validation
    def validation(self) -> None:
        import numpy as np

        import povsim

        n = self.sizes.exact_checks
        base = povsim.Scenario(
            county=povsim.County(household_sizes=(1.0,)),
            design=povsim.Design.stratified(1000),
            measurement=povsim.Measurement(),
            rule=povsim.Rule(),
        )
        rates = [0.01, 0.015, 0.02, 0.025, 0.03]
        meas = {
            "perfect": {"measurement.sensitivity": 1.0, "measurement.specificity": 1.0},
            "imperfect": {"measurement.sensitivity": 0.9, "measurement.specificity": 0.995},
        }
        sim = povsim.sweep(
            base,
            {"county.wrongful_exit_rate": rates, "measurement": meas},
            checks=n,
            seed=self.next_seed(),
            progress=False,
        )
        ex = np.empty((len(rates), len(meas)))
        for i, w in enumerate(rates):
            for j, label in enumerate(meas):
                sc = base.replace(**{"county.wrongful_exit_rate": w, **meas[label]})
                ex[i, j] = float(povsim.simulate(sc, checks=1, seed=0, method="exact").p_pass)
        p = sim.p_pass.values
        se = sim.p_pass_mcse.values
        z = np.where(se > 0, (p - ex) / np.where(se > 0, se, 1), 0.0)
        put = self.put
        put("exact_points", count(z.size))
        put("exact_rates", count(len(rates)))
        put("exact_checks", count(n))
        put("exact_max_z", exact(np.abs(z).max(), "{:.2f}", "mc_z"))
        put("exact_within", count(int((np.abs(z) <= 4).sum()), "mc_z"))
        put("exact_max_diff", exact(np.abs(p - ex).max() * 100, "{:.2f}", "mc_z"))

        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(6.4, 4.2))
        ax = fig.subplots()
        tv = sim.true_value.sel(indicator="wrongful_exit").values * 100
        for j, (label, color) in enumerate(zip(meas, ("#0b3c5d", "#d9534f"), strict=True)):
            ax.plot(tv[:, j], ex[:, j], color=color, label=f"exact, {label}")
            ax.errorbar(
                tv[:, j],
                p[:, j],
                yerr=2 * se[:, j],
                fmt="o",
                color=color,
                ms=4,
                label=f"engine ±2 MCSE, {label}",
            )
        ax.axvline(2.0, color="black", linestyle=":", linewidth=1)
        ax.set_xlabel("true wrongful-exit rate of the population (%)")
        ax.set_ylabel("P(check passes the county)")
        ax.legend(fontsize=8)
        ax.set_title("Engine against the exact answer (stratified SRS)")
        self.save(fig, "exact")

    # 4. operating characteristics
    def oc_curves(self) -> None:
        import numpy as np
        import xarray as xr

        import povsim
        from povsim import plot

        n = self.sizes.oc_checks
        rates = list(self.sizes.oc_rates)
        seed = self.next_seed()
        sc = self.scenario
        sizes = povsim.sample_size_axis([500, 1000, 2000], max_villages=50)
        off = povsim.sweep(
            sc,
            {"county.wrongful_exit_rate": rates, "design.households": sizes},
            checks=n,
            seed=seed,
            progress=False,
        )
        perfect = povsim.sweep(
            sc.replace(measurement=povsim.Measurement()),
            {"county.wrongful_exit_rate": rates},
            checks=n,
            seed=seed,
            progress=False,
        )
        put = self.put
        put("oc_checks", count(n))
        put("oc_sizes", words("500, 1,000 and 2,000"))
        put("oc_points", count(len(rates)))
        lo, hi = rates.index(0.015), rates.index(0.025)

        def at(ds, i, var="p_pass"):
            return ds[var].isel({"county.wrongful_exit_rate": i}), ds[f"{var}_mcse"].isel(
                {"county.wrongful_exit_rate": i}
            )

        o1000 = off.sel({"design.households": 1000})
        tv = o1000.true_value.sel(indicator="wrongful_exit").values
        put("oc_lo_true", pct(tv[lo], 2, "exact"))
        put("oc_hi_true", pct(tv[hi], 2, "exact"))
        put("oc_ff_lo", mc(1 - at(o1000, lo)[0], at(o1000, lo)[1]))
        put("oc_fp_hi", mc(*at(o1000, hi)))
        put("oc_fp_hi_perfect", mc(*at(perfect, hi)))
        put("oc_ff_lo_perfect", mc(1 - at(perfect, lo)[0], at(perfect, lo)[1]))
        for h in (500, 2000):
            sub = off.sel({"design.households": h})
            put(f"oc_fp_hi_{h}", mc(*at(sub, hi)))
            put(f"oc_ff_lo_{h}", mc(1 - at(sub, lo)[0], at(sub, lo)[1]))

        def crossing(ds):
            x = ds.true_value.sel(indicator="wrongful_exit").values
            p = ds.p_pass.values
            s = ds.p_pass_mcse.values
            for i in range(len(x) - 1):
                if p[i] >= 0.5 > p[i + 1]:
                    slope = (p[i + 1] - p[i]) / (x[i + 1] - x[i])
                    x50 = x[i] + (0.5 - p[i]) / slope
                    t = (x50 - x[i]) / (x[i + 1] - x[i])
                    se = math.sqrt(((1 - t) * s[i]) ** 2 + (t * s[i + 1]) ** 2) / abs(slope)
                    return x50, se
            return math.nan, math.nan

        put("oc_x50", mc(*crossing(o1000), digits=2))
        put("oc_x50_perfect", mc(*crossing(perfect), digits=2))
        both = xr.concat(
            [
                perfect.expand_dims(measurement=["perfect"]),
                o1000.drop_vars(
                    ["design.households", "design.villages"], errors="ignore"
                ).expand_dims(measurement=["official 2018 (illustrative)"]),
            ],
            dim="measurement",
            coords="minimal",
            compat="override",
            combine_attrs="override",
        )
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4.2))
        ax1, ax2 = fig.subplots(1, 2)
        plot.oc_curve(off, hue="design.households", ax=ax1)
        ax1.set_title("(a) sample size, official measurement")
        plot.oc_curve(both, hue="measurement", ax=ax2)
        ax2.set_title("(b) measurement, 1000 households")
        self.save(fig, "oc")
        self.oc = off
        self.oc_perfect = perfect
        del np

    # 5. risk surface: sample size against the true rate
    def surface(self) -> None:
        import numpy as np

        import povsim
        from povsim import plot

        n = self.sizes.surface_checks
        rates = list(self.sizes.oc_rates)
        hh = [500, 1000, 2000, 3000, 4000]
        ds = povsim.sweep(
            self.scenario,
            {
                "county.wrongful_exit_rate": rates,
                "design.households": povsim.sample_size_axis(hh, max_villages=80),
            },
            checks=n,
            seed=self.next_seed(),
            progress=False,
        )
        ax = plot.risk_surface(ds, "county.wrongful_exit_rate", "design.households")
        ax.set_title("P(wrong verdict): true wrongful-exit rate × sample size")
        self.save(ax, "risk_surface")
        lo, hi = rates.index(0.015), rates.index(0.025)
        s4 = ds.sel({"design.households": 4000})
        p, se = s4.p_pass.values, s4.p_pass_mcse.values
        self.put("surface_checks", count(n))
        self.put("surface_hh_max", count(hh[-1]))
        self.put("surface_level", pct(0.05, 0))  # the contour plot.risk_surface labels
        self.put("surface_ff_lo_4000", mc(1 - p[lo], se[lo]))
        self.put("surface_fp_hi_4000", mc(p[hi], se[hi]))
        self.put("surface_villages_4000", count(int(s4["design.villages"])))
        del np

    # 6. measurement: sensitivity and specificity
    def measurement(self) -> None:
        import povsim

        n = self.sizes.measurement_checks
        seed = self.next_seed()
        sc = self.scenario
        fail_county = sc.replace(**{"county.wrongful_exit_rate": 0.025})
        se_values = [0.6, 0.7, 0.8, 0.9, 1.0]
        ds_se = povsim.sweep(
            fail_county,
            {"measurement.sensitivity": se_values},
            checks=n,
            seed=seed,
            progress=False,
        )
        sp_values = sorted({0.95, 0.98, 0.99, sc.measurement.specificity, 1.0})
        pass_county = sc.replace(**{"county.wrongful_exit_rate": 0.015})
        ds_sp = povsim.sweep(
            pass_county,
            {"measurement.specificity": sp_values},
            checks=n,
            seed=seed,
            progress=False,
        )
        m = sc.measurement
        put = self.put
        put("meas_checks", count(n))
        put("meas_se_low", exact(se_values[0], "{:.1f}", "input"))
        put("meas_sp_low", exact(sp_values[0], "{:g}", "input"))
        tv = float(
            ds_se.true_value.sel(indicator="wrongful_exit").isel({"measurement.sensitivity": 0})
        )
        put("meas_fail_true", pct(tv, 2, "exact"))
        put("meas_rg", pct(tv * m.effective_sensitivity + (1 - tv) * self.false_flag, 2, "exact"))
        i1 = se_values.index(1.0)
        i9 = se_values.index(0.9)
        i6 = se_values.index(0.6)
        for key, i in (("1", i1), ("09", i9), ("06", i6)):
            put(
                f"meas_fp_se{key}",
                mc(ds_se.p_pass.values[i], ds_se.p_pass_mcse.values[i]),
            )
        tv2 = float(
            ds_sp.true_value.sel(indicator="wrongful_exit").isel({"measurement.specificity": 0})
        )
        put("meas_pass_true", pct(tv2, 2, "exact"))
        for key, v in (("low", sp_values[0]), ("assumed", m.specificity), ("1", 1.0)):
            i = sp_values.index(v)
            put(f"meas_ff_sp{key}", mc(1 - ds_sp.p_pass.values[i], ds_sp.p_pass_mcse.values[i]))
        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 4.0))
        ax1, ax2 = fig.subplots(1, 2)
        for ax, ds, values, what, title in (
            (ax1, ds_se, se_values, "false pass", f"(a) county at {tv * 100:.2f} % (truly fails)"),
            (
                ax2,
                ds_sp,
                sp_values,
                "false fail",
                f"(b) county at {tv2 * 100:.2f} % (truly passes)",
            ),
        ):
            p = ds.p_pass.values if what == "false pass" else 1 - ds.p_pass.values
            s = ds.p_pass_mcse.values
            ax.errorbar(values, p, yerr=2 * s, fmt="o-", color="#0b3c5d", ms=4)
            ax.set_ylabel(f"P({what}) (±2 MCSE)")
            ax.set_title(title, fontsize=10)
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        ax1.set_xlabel("enumerator sensitivity (review chain as in the 2018 model)")
        ax2.set_xlabel("enumerator specificity (review chain as in the 2018 model)")
        self.save(fig, "measurement")

    # 7. design effect
    def design_effects(self) -> None:
        import povsim
        from povsim import plot
        from povsim.exact import kish_design_effect

        n = self.sizes.deff_checks
        ds = povsim.sweep(
            self.scenario,
            {"design.villages": [10, 25, 50]},
            checks=n,
            seed=self.next_seed(),
            progress=False,
        )
        ax = plot.design_effect(ds, x="design.villages")
        ax.set_title("Realised design effect against Kish's 1 + (m − 1)ρ")
        self.save(ax, "design_effect")
        put = self.put
        put("deff_checks", count(n))
        put("deff_v_lo", count(10))
        put("deff_v_hi", count(50))
        for v in (10, 50):
            sub = ds.sel({"design.villages": v})
            put(
                f"deff_w_{v}",
                mc(
                    sub.design_effect.sel(indicator="wrongful_exit"),
                    sub.design_effect_mcse.sel(indicator="wrongful_exit"),
                    scale=1,
                    digits=2,
                    unit="",
                ),
            )
            put(
                f"deff_a_{v}",
                mc(
                    sub.design_effect.sel(indicator="approval"),
                    sub.design_effect_mcse.sel(indicator="approval"),
                    scale=1,
                    digits=2,
                    unit="",
                ),
            )
        sub = ds.sel({"design.villages": 25})
        m_exited = float(sub.sampled_households.sel(domain="exited")) / 25
        put("deff_m_exited", exact(m_exited, "{:.1f}", "mc_mean"))
        kish_w = kish_design_effect(m_exited, self.scenario.county.icc_wrongful_exit)
        put("deff_kish_w", exact(kish_w, "{:.2f}"))
        realised = float(self.default_ds.design_effect.sel(indicator="wrongful_exit"))
        put("deff_w_vs_kish", words("lower" if realised < kish_w else "higher"))
        m_all = float(sub.sampled_households.sel(domain="all")) / 25
        put(
            "deff_kish_a",
            exact(kish_design_effect(m_all, self.scenario.county.icc_approval), "{:.2f}"),
        )

    # 8. calibration to the published 2018 results
    def calibration(self) -> None:
        import numpy as np

        from povsim.research import calibrate
        from povsim.research._table import DEFAULT_GRID, build_check_table

        z = self.sizes
        sc = self.scenario
        grid = DEFAULT_GRID[:: z.table_every]
        s_table, s_cal, s_table2, s_cal2 = self.next_seed().spawn(4)
        table = build_check_table(
            sc, grid=grid, populations=z.table_populations, checks=z.table_checks, seed=s_table
        )
        fit = calibrate(
            scenario=sc,
            simulations=z.calibration_simulations,
            predictive=z.calibration_predictive,
            seed=s_cal,
            table=table,
        )
        # the same question with less specific enumerators: what can the model reach?
        alt_sp = 0.98 if sc.measurement.specificity > 0.98 else 0.995
        alt = sc.replace(**{"measurement.specificity": alt_sp})
        table_alt = build_check_table(
            alt, grid=grid, populations=z.table_populations, checks=z.table_checks, seed=s_table2
        )
        fit_alt = calibrate(
            scenario=alt, simulations=200, predictive=10, seed=s_cal2, table=table_alt
        )
        self.table, self.fit = table, fit
        put = self.put
        put("cal_simulations", count(z.calibration_simulations))
        put("cal_interval", pct(0.95, 0))  # ParameterEstimate's interval
        put("cal_accepted", count(fit.accepted))
        for key, a in zip(("w", "o", "n"), fit.achievable, strict=True):
            put(f"cal_ach_{key}", est(a))
        for key, a in zip(("w", "o", "n"), fit_alt.achievable, strict=True):
            put(f"alt_ach_{key}", est(a))
        for key, p in zip(("w", "o", "n"), fit.predictive, strict=True):
            put(f"cal_pred_{key}", est(p))
        n_o = sc.design.households * (1 - (sc.design.registered_share or 0.5))
        f_max = -math.log(fit.published.no_omission) / n_o
        self.f_max = f_max
        put("cal_fmax_10k", exact(f_max * 1e4, "{:.1f}"))
        put(
            "cal_verdict",
            words(
                "The published shares lie within these maxima, so distributions of county rates "
                "that reproduce them exist under the illustrative measurement."
                if fit.reproducible
                else "The published shares exceed these maxima, so **no** distribution of "
                "county rates reproduces them under the illustrative measurement; the fit below "
                "is the closest the model comes."
            ),
        )
        put("alt_sp", exact(alt_sp, "{:g}", "input"))
        put(
            "alt_false_flags_10k",
            exact((1 - alt_sp) * sc.measurement.review_false * 1e4, "{:.1f}"),
        )
        put(
            "alt_verdict",
            words(
                "could still be reproduced"
                if fit_alt.reproducible
                else "could not be reproduced by any distribution of county rates"
            ),
        )
        mw, mo = fit.median_wrongful, fit.median_omission
        put("cal_median_w", est(mw.mean, digits=3))
        put("cal_median_w_lo", pct(mw.low, 3, "mc_interval"))
        put("cal_median_w_hi", pct(mw.high, 3, "mc_interval"))
        put("cal_median_o", est(mo.mean, digits=3))
        put("cal_exceed_w", est(fit.exceed_wrongful.mean, digits=2))
        put("cal_exceed_o", est(fit.exceed_omission.mean, digits=2))
        put("cal_rho", est(fit.parameters["rho"].mean, scale=1, digits=2, unit=""))
        put("cal_wrongly_passed", est(fit.wrongly_passed, scale=1, digits=2, unit=""))
        put("cal_truly_failing", est(fit.truly_failing, scale=1, digits=2, unit=""))
        mx = {row[0]: row for row in fit.maxima_check}
        for year in (2016, 2017):
            row = mx[year]
            put(f"max_{year}_w", pct(row[2], 2))
            put(f"max_{year}_o", pct(row[3], 2))
            r_pred = z.calibration_predictive
            for col, side in ((4, "pw"), (5, "po")):
                q = float(row[col])
                put(
                    f"max_{year}_{side}",
                    mc(q, math.sqrt(q * (1 - q) / r_pred), scale=1, digits=2, unit=""),
                )

        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(7.5, 4.2))
        ax = fig.subplots()
        labels = ["no wrongful exit", "no omission", "neither"]
        x = np.arange(3)
        width = 0.2
        bars = [
            ("published 2018", fit.published.statistics * 100, None, "#555555"),
            (
                f"most reachable, specificity {alt_sp:g}",
                np.array([a.value for a in fit_alt.achievable]) * 100,
                np.array([a.mcse for a in fit_alt.achievable]) * 100,
                "#d9534f",
            ),
            (
                f"most reachable, specificity {sc.measurement.specificity:g}",
                np.array([a.value for a in fit.achievable]) * 100,
                np.array([a.mcse for a in fit.achievable]) * 100,
                "#f0ad4e",
            ),
            (
                "fitted (posterior predictive)",
                np.array([p.value for p in fit.predictive]) * 100,
                np.array([p.mcse for p in fit.predictive]) * 100,
                "#0b3c5d",
            ),
        ]
        for i, (label, y, e, color) in enumerate(bars):
            ax.bar(
                x + (i - 1.5) * width,
                y,
                width,
                yerr=None if e is None else 2 * e,
                label=label,
                color=color,
            )
        ax.set_xticks(x, labels)
        ax.set_ylim(50, 100)
        ax.set_ylabel("counties with nothing found (%)")
        ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
        ax.set_title("Published 2018 shares against the model (±2 MCSE)")
        self.save(fig, "calibration")

    # 9. the 1–2 household claim
    def flip(self) -> None:
        import numpy as np

        from povsim.research import flip_claim, flip_map, fragility, illustrative_distribution

        z = self.sizes
        sc = self.scenario
        s_map, s_claim = self.next_seed().spawn(2)
        ds = flip_map(sc, checks=z.flip_checks, seed=s_map)
        frag = fragility(ds)
        put = self.put
        put("flip_checks", count(z.flip_checks))
        for ind, key in (
            ("wrongful_exit", "w"),
            ("omission", "o"),
            ("incidence", "inc"),
            ("approval", "a"),
        ):
            peak, se, step = frag[ind]
            put(f"flip_peak_{key}", mc(peak, se))
            put(f"flip_step_{key}", pct(step, 1, "mc_mean"))
        sub = ds.sel(indicator="wrongful_exit").isel(households=0, design=0)
        at = int(np.argmin(np.abs(sub.value.values - 0.02)))
        put("flip_at_true", pct(float(sub.true_value.values[at]), 2, "exact"))
        put("flip_at_1", mc(sub.p_flip.sel(k=1).values[at], sub.p_flip_mcse.sel(k=1).values[at]))
        put("flip_at_2", mc(sub.p_flip.sel(k=2).values[at], sub.p_flip_mcse.sel(k=2).values[at]))
        sizes = flip_map(
            sc,
            indicators=["wrongful_exit"],
            values={"wrongful_exit": [0.025]},
            households=(500, 1000, 2000),
            designs=("two_stage", "stratified"),
            checks=z.flip_checks,
            seed=s_map,
        )
        for design, dkey in (("two_stage", "ts"), ("stratified", "st")):
            for h in (500, 1000, 2000):
                c = sizes.sel(design=design, households=h).isel(indicator=0, point=0)
                put(f"flip_size_{dkey}_{h}", mc(c.p_flip.sel(k=1), c.p_flip_mcse.sel(k=1)))
        self.put(
            "flip_size_true",
            pct(
                float(sizes.true_value.isel(indicator=0, point=0, households=0, design=0)),
                2,
                "exact",
            ),
        )
        s_c1, s_c2 = s_claim.spawn(2)
        claims = {}
        for key, dist, s in (
            ("cal", self.fit.distribution(), s_c1),
            ("ill", illustrative_distribution(), s_c2),
        ):
            cl = flip_claim(
                dist, scenario=sc, counties=z.claim_counties, checks=z.claim_checks, seed=s
            )
            claims[key] = cl
            put(f"claim_{key}_1", est(cl.p_flip1, digits=2))
            put(f"claim_{key}_2", est(cl.p_flip2, digits=2))
            put(f"claim_{key}_share", est(cl.share_fails, digits=0))
        put("claim_counties", count(z.claim_counties))
        put("claim_checks", count(z.claim_checks))
        put("claim_tolerance", pct(claims["ill"].tolerance, 0))
        ill = illustrative_distribution()
        put("ill_median_w", pct(ill.median_wrongful, 1))
        put("ill_median_o", pct(ill.median_omission, 1))
        put("ill_exceed_w", pct(ill.exceedance(0.02)[0], 2, "exact"))
        self.claims = claims

        import matplotlib

        matplotlib.use("Agg")
        from matplotlib.figure import Figure

        fig = Figure(figsize=(11, 7.0))
        axes = fig.subplots(2, 2).ravel()
        names = {
            "wrongful_exit": "wrongful-exit rate",
            "omission": "omission rate",
            "incidence": "poverty incidence",
            "approval": "approval",
        }
        for ax, ind in zip(axes, ds.indicator.values, strict=True):
            s = ds.sel(indicator=ind).isel(households=0, design=0)
            x = s.true_value.values * 100
            order = np.argsort(x)
            for k, color in ((1, "#0b3c5d"), (2, "#d9534f")):
                y = s.p_flip.sel(k=k).values[order]
                e = s.p_flip_mcse.sel(k=k).values[order]
                ax.plot(x[order], y, "o-", color=color, ms=4, label=f"margin ≤ {k} household(s)")
                ax.fill_between(x[order], y - 2 * e, y + 2 * e, color=color, alpha=0.2, lw=0)
            ax.axvline(float(ds.threshold.sel(indicator=ind)) * 100, color="black", ls=":")
            ax.set_xlabel(f"true {names[str(ind)]} of the population (%)")
            ax.set_ylabel("P(verdict reversed)")
            ax.set_ylim(-0.02, 1.02)
            ax.grid(alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle("Can 1–2 households flip the verdict? (1000 households, two-stage, ±2 MCSE)")
        fig.tight_layout()
        self.save(fig, "flip")

    # 10. the programme
    def programme(self) -> None:
        from povsim.research import illustrative_distribution, simulate_programme

        z = self.sizes
        s1, s2 = self.next_seed().spawn(2)
        put = self.put
        put("prog_replications", count(z.programme_replications))
        ill = simulate_programme(
            illustrative_distribution(),
            scenario=self.scenario,
            replications=z.programme_replications,
            seed=s1,
            table=self.table,
        )
        cal = simulate_programme(  # posterior predictive programmes
            self.fit,
            scenario=self.scenario,
            replications=z.programme_replications,
            seed=s2,
            table=self.table,
        )
        for key, res in (("ill", ill), ("cal", cal)):
            put(f"prog_{key}_failing", est(res.truly_failing.mean, scale=1, digits=2, unit=""))
            put(f"prog_{key}_wp", est(res.wrongly_passed.mean, scale=1, digits=2, unit=""))
            put(f"prog_{key}_wf", est(res.wrongly_failed.mean, scale=1, digits=2, unit=""))
            put(f"prog_{key}_fp", est(res.false_pass_rate))
            put(f"prog_{key}_ff", est(res.false_fail_rate, digits=2))
            put(f"prog_{key}_caught", est(res.caught.mean, scale=1, digits=2, unit=""))
            put(f"prog_{key}_catch", est(res.catch_rate))
            put(f"prog_{key}_alarms", est(res.false_alarms.mean, scale=1, digits=2, unit=""))
        self.prog = {"ill": ill, "cal": cal}

    # 11. ranking
    def ranking(self) -> None:
        from povsim.research import rank_reliability

        z = self.sizes
        rk = rank_reliability(
            checks=z.rank_checks, replications=z.rank_replications, seed=self.next_seed()
        )
        put = self.put
        put("rank_checks", count(z.rank_checks))
        put("rank_a", pct(rk.pair_true[0], 2, "exact"))
        put("rank_b", pct(rk.pair_true[1], 2, "exact"))
        put("rank_correct", est(rk.p_correct_order))
        put("rank_normal", pct(rk.p_correct_normal, 1, "mc_normal"))
        sd = rk.estimate_sd[0]
        put("rank_sd", mc(sd, sd / math.sqrt(2 * (rk.checks - 1)), digits=2, unit=" points"))
        put("rank_both", est(rk.p_both_verdicts_correct))
        put("rank_counties", count(rk.counties))
        put("rank_spearman", est(rk.spearman, scale=1, digits=3, unit=""))
        put("rank_adjacent", est(rk.p_adjacent_correct))
        put(
            "rank_verdict",
            words(
                "statistically justified"
                if rk.ranking_unreliable
                else "not clearly needed on these numbers"
            ),
        )
        self.rank = rk

    # 12. recommendations
    def recommendation(self) -> None:
        from povsim.exact import find_plan
        from povsim.research import recommend_design
        from povsim.research.recommend import candidate_rules, describe_rule

        z = self.sizes
        dist = 0.01
        rec = recommend_design(
            self.scenario,
            distances={"wrongful_exit": dist, "omission": dist},
            households=(1000, 2000, 3000, 4000),
            checks=z.recommend_checks,
            seed=self.next_seed(),
        )
        put = self.put
        put("rec_distance", words(f"{dist * 100:g} percentage point"))
        put("rec_checks", count(z.recommend_checks))
        put("rec_target", pct(rec.target, 0))
        largest = f"{max(rec.table.households.values):,} households"
        if rec.feasible:
            sentence = (
                f"keeping both risks below {rec.target * 100:g} % for counties {dist * 100:g} "
                f"percentage point from the wrongful-exit and omission thresholds needs "
                f"{rec.households:,} households in {rec.villages} villages and the rule "
                f"'{describe_rule(rec.rule)}' (false pass {est(rec.false_pass).text}, false fail "
                f"{est(rec.false_fail).text})."
            )
        else:
            sentence = (
                f"no design up to {largest} with any candidate rule keeps both risks below "
                f"{rec.target * 100:g} % (with a margin of two MCSE) for counties {dist * 100:g} "
                f"percentage point from the wrongful-exit and omission thresholds."
            )
        put("rec_sentence", words(sentence[0].upper() + sentence[1:]))
        t = rec.table
        official = next(  # the official rule among the candidates: point estimate, no band
            j
            for j, rule in enumerate(candidate_rules(self.scenario.rule))
            if rule.method == "point" and rule.guard_band == 0
        )
        c0 = t.isel(candidate=0, rule=official)
        put("rec_official_hh", count(int(c0.households)))
        put("rec_official_fp", mc(c0.false_pass, c0.false_pass_mcse))
        put("rec_official_ff", mc(c0.false_fail, c0.false_fail_mcse))
        m = self.scenario.measurement
        p_lo, p_hi = 0.02 - dist, 0.02 + dist
        plan = find_plan((p_lo, 0.05), (p_hi, 0.05), max_n=20_000)
        plan_m = find_plan(
            (p_lo, 0.05),
            (p_hi, 0.05),
            max_n=20_000,
            sensitivity=m.effective_sensitivity,
            specificity=m.effective_specificity,
        )
        put("lqas_lo", pct(p_lo, 0))
        put("lqas_risk", pct(0.05, 0))
        put("lqas_hi", pct(p_hi, 0))
        put("lqas_n", count(plan.n, "exact"))
        put("lqas_c", count(plan.c, "exact"))
        put("lqas_m_n", count(plan_m.n, "exact"))
        put("lqas_m_c", count(plan_m.c, "exact"))
        self.rec = rec

    # headline findings
    def conclude(self) -> None:
        v = {k: x.text for k, x in self.values.items()}
        self.headlines = [
            f"A county whose population truly has {v['oc_hi_true']} wrongful exits (threshold "
            f"{v['t_w']}) is passed by the official {v['design_households']}-household check "
            f"with probability {v['oc_fp_hi']} under the illustrative 2018 measurement, against "
            f"{v['oc_fp_hi_perfect']} with perfect measurement: under-recording by enumerators "
            f"and the review chain moves the true rate at which the check passes half the time "
            f"from {v['oc_x50_perfect']} to {v['oc_x50']}, and more households cannot undo it.",
            f"The 1–2 household claim depends on where the county is: for counties like the "
            f"calibrated 2018 ones P(2 households flip the verdict) is {v['claim_cal_2']}; for a "
            f"county at the wrongful-exit threshold one household flips it with probability "
            f"{v['flip_at_1']}, and among illustrative counties (median rates "
            f"{v['ill_median_w']} / {v['ill_median_o']}) the claim fails for "
            f"{v['claim_ill_share']} of counties.",
            (
                f"The published 2018 shares bound the recording noise: at most about "
                f"{v['cal_fmax_10k']} false flags per 10,000 sampled households can survive "
                f"review (the illustrative measurement assumes {v['false_flags_10k']}); with "
                f"enumerator specificity {v['alt_sp']} they {v['alt_verdict']}. "
            )
            + (
                f"Fitted under the illustrative measurement, they imply a median county "
                f"wrongful-exit rate of {v['cal_median_w']} and {v['cal_wrongly_passed']} "
                f"wrongly passed counties among the {v['pub_counties']} published ones."
                if self.fit.reproducible
                else f"The illustrative measurement cannot reproduce them either (at most "
                f"{v['cal_ach_o']} of counties could show no omission; published "
                f"{v['pub_no_o']})."
            ),
            f"In a simulated {v['prog_counties']}-county programme with illustrative rates, "
            f"{v['prog_ill_wp']} counties per round are wrongly passed (false-pass rate "
            f"{v['prog_ill_fp']}) and the {v['prog_national']}-county national spot check catches "
            f"{v['prog_ill_catch']} of them.",
            f"Two counties at {v['rank_a']} and {v['rank_b']} incidence are ordered correctly "
            f"{v['rank_correct']} of the time; neighbours in a {v['rank_counties']}-county ranking "
            f"{v['rank_adjacent']} (a coin toss: 50 %).",
            f"Under the official rule with {v['rec_official_hh']} households, counties "
            f"{v['rec_distance']} from the wrongful-exit and omission thresholds face worst-case "
            f"risks of {v['rec_official_fp']} (false pass) and {v['rec_official_ff']} (false "
            f"fail). {v['rec_sentence']}",
        ]
        for i, h in enumerate(self.headlines, 1):
            self.put(f"headline_{i}", words(h))


def render(out: Path, values: dict[str, Value]) -> dict[str, Path]:
    """Fill the template and write ``paper.md``, ``paper.html`` and, if possible, ``paper.pdf``."""
    text = fill(TEMPLATE.read_text(encoding="utf-8"), values)
    md = out / "paper.md"
    md.write_text(text, encoding="utf-8")
    title = next((ln[2:] for ln in text.splitlines() if ln.startswith("# ")), "povsim")
    page = out / "paper.html"
    page.write_text(markdown_to_html(text, base=out, title=title), encoding="utf-8")
    written = {"md": md, "html": page}
    pandoc = shutil.which("pandoc")
    engine = next((e for e in ("xelatex", "pdflatex") if shutil.which(e)), None)
    if pandoc and engine:
        pdf = out / "paper.pdf"
        run = subprocess.run(
            [pandoc, "paper.md", "-o", "paper.pdf", f"--pdf-engine={engine}"],
            cwd=out,
            capture_output=True,
            text=True,
        )
        if run.returncode == 0:
            written["pdf"] = pdf
        else:  # e.g. no CJK font for the Chinese terms: the HTML paper stands
            print(f"no PDF ({pandoc} with {engine} failed):\n{run.stderr[-2000:]}", flush=True)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", required=True, help="output folder (created if needed)")
    parser.add_argument("--quick", action="store_true", help="fewer checks (CI, ~2 minutes)")
    parser.add_argument("--seed", type=int, default=2018, help="seed of every simulation")
    args = parser.parse_args(argv)
    os.environ.setdefault("MPLBACKEND", "Agg")
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()

    def log(msg: str) -> None:
        print(msg, flush=True)

    log(f"povsim paper: {'quick' if args.quick else 'full'} build into {out}")
    # fail before any work on a broken template
    hand = hand_typed_numbers(TEMPLATE.read_text(encoding="utf-8"))
    if hand:
        raise SystemExit(f"numbers typed by hand in {TEMPLATE.name}: {hand}")
    build = Build(out, quick=args.quick, seed=args.seed, log=log)
    build.run()
    build.conclude()
    elapsed = time.perf_counter() - t0
    build.put("build_seconds", exact(elapsed, "{:.0f}", "runtime"))
    build.put("build_seed", words(str(args.seed)))
    written = render(out, build.values)
    numbers = {
        k: {"text": v.text, "value": v.value, "mcse": v.mcse, "kind": v.kind}
        for k, v in sorted(build.values.items())
    }
    meta = {
        "quick": args.quick,
        "seed": args.seed,
        "seconds": elapsed,
        "timings": build.timings,
        "numbers": numbers,
    }
    (out / "numbers.json").write_text(json.dumps(meta, indent=1, ensure_ascii=False), "utf-8")
    (out / "headlines.txt").write_text("\n".join(f"- {h}" for h in build.headlines) + "\n", "utf-8")
    log(f"wrote {', '.join(str(p) for p in written.values())} in {elapsed:.0f} s")
    log("headline findings:")
    for h in build.headlines:
        log(f"- {h}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
