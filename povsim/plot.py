"""Report-quality plots of simulation and sweep results.

Every function takes a Dataset from :func:`povsim.simulate` or
:func:`povsim.sweep` and ``ax=None`` (a new figure is made when it is None) and
returns the :class:`matplotlib.axes.Axes`. Dimensions a plot does not use must
have one value (select them first, ``ds.sel({"county.region": "western"})``);
rates are shown in percent. matplotlib is imported on first use, and figures
are made without pyplot (no GUI, no global figure registry): save one with
``ax.figure.savefig("oc.png", dpi=150)``.

References
----------
Kish, L. (1965). *Survey Sampling*. Wiley (design effect ``1 + (m - 1) rho``).
Morris, T. P., White, I. R. and Crowther, M. J. (2019). Using simulation studies
to evaluate statistical methods. *Statistics in Medicine* 38, 2074–2102 (MCSE).
"""

from __future__ import annotations

import json
from typing import Any

import numpy as np

from .rules import INCIDENCE_THRESHOLDS

__all__ = [
    "design_effect",
    "fail_attribution",
    "margin_distribution",
    "oc_curve",
    "risk_surface",
]

#: County field -> (indicator, rule threshold field, plain name).
RATE_FIELDS = {
    "county.wrongful_exit_rate": ("wrongful_exit", "rule.wrongful_exit", "wrongful-exit rate"),
    "county.omission_rate": ("omission", "rule.omission", "omission rate"),
    "county.approval_rate": ("approval", "rule.approval", "approval"),
    "county.remaining_share": ("incidence", "rule.incidence", "poverty incidence"),
}
INDICATOR_NAMES = {
    "incidence": "poverty incidence",
    "wrongful_exit": "wrongful-exit rate",
    "omission": "omission rate",
    "approval": "approval",
}
#: Indicator -> (domain of sampled households, county ICC field).
INDICATOR_DOMAIN = {
    "wrongful_exit": ("exited", "county.icc_wrongful_exit"),
    "omission": ("nonregistered", "county.icc_omission"),
    "approval": ("all", "county.icc_approval"),
}
_STYLES = [
    dict(color="#0b3c5d", linestyle="-", marker="o"),
    dict(color="#d9534f", linestyle="--", marker="s"),
    dict(color="#328cc1", linestyle="-.", marker="^"),
    dict(color="#5cb85c", linestyle=":", marker="D"),
    dict(color="#8e44ad", linestyle="-", marker="v"),
    dict(color="#e67e22", linestyle="--", marker="P"),
    dict(color="#555555", linestyle="-.", marker="X"),
]


# -- helpers -------------------------------------------------------------------------------


def _new_ax(ax: Any, figsize: tuple[float, float] = (6.4, 4.4)):
    if ax is not None:
        return ax
    from matplotlib.figure import Figure

    fig = Figure(figsize=figsize, layout="constrained")
    ax = fig.add_subplot()
    return ax


def _style_ax(ax) -> None:
    ax.grid(True, color="#dddddd", linewidth=0.6)
    ax.set_axisbelow(True)
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


def _check_ds(ds: Any, need: tuple[str, ...]) -> None:
    import xarray as xr

    if not isinstance(ds, xr.Dataset):
        raise ValueError(f"ds must be an xarray.Dataset from povsim.simulate or sweep; got {ds!r}")
    missing = [v for v in need if v not in ds]
    if missing:
        raise ValueError(f"ds lacks {', '.join(missing)}: pass a povsim.simulate or sweep result")


def _check_dim(ds: Any, name: str, dim: Any) -> str:
    if dim not in ds.dims:
        swept = [d for d in ds.dims if d not in ("indicator", "k", "margin", "domain")]
        raise ValueError(f"{name} must be a dimension of ds (one of {swept}); got {dim!r}")
    return dim


def _reduce(ds: Any, keep: set[str], what: str):
    """Squeeze one-valued dimensions; refuse others not in ``keep``."""
    extra = [d for d in ds.dims if d not in keep and ds.sizes[d] > 1]
    if extra:
        raise ValueError(
            f"{what}: ds has more dimensions than the plot uses: {extra}; "
            f"select one value of each first, e.g. ds.sel({{{extra[0]!r}: ...}})"
        )
    return ds.squeeze([d for d in ds.dims if d not in keep and ds.sizes[d] == 1], drop=False)


def _param(ds: Any, path: str, default: Any = None) -> Any:
    """A scenario parameter: a (scalar) coordinate if swept, else ``ds.attrs``."""
    if path in ds.coords and ds[path].ndim == 0:
        return ds[path].item()
    value = ds.attrs.get(f"param.{path}", default)
    if value is None and "scenario_json" in ds.attrs:
        head, _, rest = path.partition(".")
        value = json.loads(ds.attrs["scenario_json"]).get(head, {}).get(rest, default)
    return value


def _is_rate(ds: Any, dim: str) -> bool:
    if dim not in ds.coords:
        return False
    return ds[dim].attrs.get("units") == "1" and np.issubdtype(ds[dim].dtype, np.floating)


def _axis_label(ds: Any, dim: str) -> str:
    attrs = ds[dim].attrs if dim in ds.coords else {}
    name = attrs.get("long_name", dim)
    units = attrs.get("units", "")
    if _is_rate(ds, dim):
        return f"{name} (%)"
    return f"{name} ({units})" if units and units != "1" else name


def _values(ds: Any, dim: str) -> np.ndarray:
    v = ds[dim].values
    return v * 100.0 if _is_rate(ds, dim) else v


def _fmt(value: Any, ds: Any, dim: str) -> str:
    if _is_rate(ds, dim):
        return f"{100 * float(value):g} %"
    if isinstance(value, float | np.floating):
        return f"{float(value):g}"
    return str(value)


def _incidence_threshold(ds: Any) -> float | None:
    inc = _param(ds, "rule.incidence")
    if inc in (None, "None"):
        region = _param(ds, "county.region")
        return INCIDENCE_THRESHOLDS.get(region)
    return float(inc)


def _threshold(ds: Any, indicator: str) -> float | None:
    if indicator == "incidence":
        return _incidence_threshold(ds)
    value = _param(ds, f"rule.{indicator}")
    return None if value in (None, "None") else float(value)


# -- OC curves -----------------------------------------------------------------------------


def oc_curve(
    ds: Any,
    x: str | None = None,
    *,
    hue: str | None = None,
    band: float = 2.0,
    realised: bool = True,
    ax: Any = None,
):
    """Operating characteristic: P(pass) against a true rate, with MCSE bands.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep over ``x`` (and ``hue``).
    x : str, optional
        The swept dimension on the horizontal axis (default: the one county
        rate among the dimensions: ``county.wrongful_exit_rate``,
        ``county.omission_rate``, ``county.approval_rate`` or
        ``county.remaining_share`` for incidence).
    hue : str, optional
        A second swept dimension, one line per value (a sample size, a rule).
    band : float
        Half-width of the shaded band in MCSE (default 2; 0 for none).
    realised : bool
        For a county rate, plot against the true indicator of the simulated
        population (``true_value``) rather than the county's expected rate.
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        The threshold of the indicator is marked by a vertical line (one per
        line when ``hue`` sweeps that threshold).
    """
    _check_ds(ds, ("p_pass", "p_pass_mcse"))
    if x is None:
        rates = [d for d in ds.dims if d in RATE_FIELDS]
        if len(rates) != 1:
            raise ValueError(
                "x must name the swept true rate (a dimension of ds); "
                f"found county rates {rates} among {list(ds.dims)}"
            )
        x = rates[0]
    _check_dim(ds, "x", x)
    if hue is not None:
        _check_dim(ds, "hue", hue)
        if hue == x:
            raise ValueError("hue must differ from x")
    band = float(band)
    if not np.isfinite(band) or band < 0:
        raise ValueError(f"band must be a real number >= 0; got {band!r}")
    keep = {x} | ({hue} if hue else set()) | {"indicator", "k", "margin", "domain"}
    ds = _reduce(ds, keep, "oc_curve")
    ax = _new_ax(ax)
    indicator, threshold_field, plain = RATE_FIELDS.get(x, (None, None, None))
    use_true = realised and indicator is not None and "true_value" in ds
    hues = list(ds[hue].values) if hue else [None]
    marked = set()
    for j, h in enumerate(hues):
        sub = ds.sel({hue: h}) if hue else ds
        y = sub.p_pass.values
        se = sub.p_pass_mcse.values
        if use_true:
            xs = sub.true_value.sel(indicator=indicator).values * 100
        else:
            xs = _values(sub, x)
        order = np.argsort(xs, kind="stable")
        xs, y, se = xs[order], y[order], se[order]
        style = _STYLES[j % len(_STYLES)]
        label = None if hue is None else _fmt(h, ds, hue)
        ax.plot(xs, y, label=label, markersize=4, linewidth=1.6, **style)
        if band > 0:
            ax.fill_between(
                xs,
                np.clip(y - band * se, 0, 1),
                np.clip(y + band * se, 0, 1),
                color=style["color"],
                alpha=0.18,
                linewidth=0,
            )
        if indicator is not None:
            thr = _threshold(sub, indicator)
            varies = hue is not None and (
                hue == threshold_field
                or (threshold_field in ds.coords and ds[threshold_field].dims == (hue,))
            )
            if thr is not None and thr not in marked:
                marked.add(thr)
                color = style["color"] if varies else "black"
                ax.axvline(100 * thr, color=color, linestyle=":", linewidth=1.2)
                ax.annotate(
                    f"threshold {100 * thr:g} %",
                    xy=(100 * thr, 0.5),
                    xytext=(3, 0),
                    textcoords="offset points",
                    rotation=90,
                    va="center",
                    fontsize=8,
                    color=color,
                )
    if indicator is not None:
        source = "of the simulated population" if use_true else "(county parameter)"
        ax.set_xlabel(f"true {plain} {source} (%)")
    else:
        ax.set_xlabel(_axis_label(ds, x))
    ax.set_ylabel("P(check passes the county)")
    ax.set_ylim(-0.02, 1.02)
    _style_ax(ax)
    note = f"bands: ±{band:g} MCSE" if band > 0 else None
    if hue is not None:
        title = _axis_label(ds, hue) + (f"\n({note})" if note else "")
        ax.legend(
            title=title,
            fontsize=8,
            title_fontsize=8,
            frameon=True,
            framealpha=0.9,
            edgecolor="#cccccc",
            loc="best",
        )
    elif note:
        ax.text(
            0.99,
            0.99,
            note,
            transform=ax.transAxes,
            ha="right",
            va="top",
            fontsize=7,
            color="#555555",
        )
    return ax


# -- risk surfaces -------------------------------------------------------------------------


def risk_surface(
    ds: Any,
    x: str,
    y: str,
    *,
    risk: str = "wrong",
    level: float = 0.05,
    ax: Any = None,
):
    """Risk of a wrong verdict over two swept axes, with the ``level`` contour.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep over ``x`` and ``y``.
    x, y : str
        The two swept dimensions.
    risk : {"wrong", "false_pass", "false_fail"}
        ``"false_pass"`` = P(pass | truly fails), ``"false_fail"`` = P(fail |
        truly passes) (blank where the condition never holds); ``"wrong"``
        (default) shows each where it applies: the probability that the check
        contradicts the truth, ``p_true * false_fail + (1 - p_true) * false_pass``.
        The true-verdict boundary is drawn dashed.
    level : float
        The risk contour drawn and labelled (default 5 %).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_ds(ds, ("false_pass", "false_fail", "p_true_pass"))
    _check_dim(ds, "x", x)
    _check_dim(ds, "y", y)
    if x == y:
        raise ValueError("x and y must be two different dimensions")
    if risk not in ("wrong", "false_pass", "false_fail"):
        raise ValueError(f"risk must be one of 'wrong', 'false_pass', 'false_fail'; got {risk!r}")
    level = float(level)
    if not 0 < level < 1:
        raise ValueError(f"level must be in (0, 1); got {level!r}")
    ds = _reduce(ds, {x, y, "indicator", "k", "margin", "domain"}, "risk_surface")
    ds = ds.transpose(y, x, ...)
    pt = ds.p_true_pass.values
    if risk == "wrong":
        fp = np.nan_to_num(ds.false_pass.values)
        ff = np.nan_to_num(ds.false_fail.values)
        z = pt * ff + (1 - pt) * fp
        label = "P(verdict contradicts the truth)"
    else:
        z = ds[risk].values
        label = {
            "false_pass": "false pass: P(pass | truly fails)",
            "false_fail": "false fail: P(fail | truly passes)",
        }[risk]
    ax = _new_ax(ax, figsize=(6.4, 4.8))
    # cells on index positions, labelled with the values: grids are rarely uniform
    xi = np.arange(ds.sizes[x])
    yi = np.arange(ds.sizes[y])
    mesh = ax.pcolormesh(xi, yi, z, shading="nearest", cmap="viridis", vmin=0.0, vmax=1.0)
    cbar = ax.figure.colorbar(mesh, ax=ax)
    cbar.set_label(label)
    ax.set_xticks(xi, [_fmt(v, ds, x) for v in ds[x].values], rotation=45 if len(xi) > 6 else 0)
    ax.set_yticks(yi, [_fmt(v, ds, y) for v in ds[y].values])
    if len(xi) > 1 and len(yi) > 1:
        zz = np.where(np.isfinite(z), z, 0.0)
        if zz.min() < level < zz.max():
            cs = ax.contour(xi, yi, zz, levels=[level], colors="white", linewidths=2.0)
            ax.clabel(cs, fmt={level: f"{100 * level:g} %"}, fontsize=9)
        if pt.min() < 0.5 < pt.max():
            ax.contour(xi, yi, pt, levels=[0.5], colors="#ff7f0e", linewidths=1.5, linestyles="--")
            from matplotlib.lines import Line2D

            ax.legend(
                [
                    Line2D([], [], color="#ff7f0e", linestyle="--"),
                    Line2D([], [], color="white", linewidth=2, path_effects=[]),
                ],
                ["true verdict changes", f"{100 * level:g} % contour"],
                loc="upper right",
                fontsize=8,
                framealpha=0.8,
                facecolor="#bbbbbb",
            )
    ax.set_xlabel(_axis_label(ds, x))
    ax.set_ylabel(_axis_label(ds, y))
    for i, j in np.ndindex(z.shape):
        if np.isfinite(z[i, j]) and z.size <= 80:
            ax.text(
                j,
                i,
                f"{z[i, j]:.2f}",
                ha="center",
                va="center",
                fontsize=6,
                color="white" if z[i, j] < 0.6 else "black",
            )
    return ax


# -- fails by indicator --------------------------------------------------------------------


def fail_attribution(ds: Any, x: str | None = None, *, band: float = 2.0, ax: Any = None):
    """Which indicator caused the fails: share of failing checks failed by each.

    Parameters
    ----------
    ds : xarray.Dataset
        A simulation (bars) or a sweep over ``x`` (one line per indicator).
    x : str, optional
        A swept dimension for the horizontal axis; without it, grouped bars
        show the share failed by each indicator (with others or not) and by it
        alone, with ``band`` MCSE error bars.
    band : float
        Error bars / bands in MCSE (default 2).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_ds(ds, ("fail_share", "fail_share_alone", "fail_share_mcse"))
    if x is not None:
        _check_dim(ds, "x", x)
    ds = _reduce(
        ds, ({x} if x else set()) | {"indicator", "k", "margin", "domain"}, "fail_attribution"
    )
    ax = _new_ax(ax)
    inds = list(ds.indicator.values)
    if x is None:
        pos = np.arange(len(inds))
        w = 0.38
        for off, var, lab, col, hatch in (
            (-w / 2, "fail_share", "failed by it (with others or not)", "#0b3c5d", None),
            (w / 2, "fail_share_alone", "failed by it alone", "#d9534f", "//"),
        ):
            vals = np.nan_to_num(ds[var].values)
            err = band * np.nan_to_num(ds[f"{var}_mcse"].values)
            ax.bar(
                pos + off,
                vals,
                w,
                yerr=err,
                label=lab,
                color=col,
                hatch=hatch,
                edgecolor="white",
                capsize=3,
            )
        ax.set_xticks(pos, [INDICATOR_NAMES.get(i, i) for i in inds])
        ax.set_xlabel("indicator")
        n_fail = (1 - float(ds.p_pass)) * ds.attrs.get("checks", np.nan)
        ax.set_title(f"failing checks: {n_fail:,.0f} of {ds.attrs.get('checks', 0):,}", fontsize=9)
    else:
        xs = _values(ds, x)
        for j, ind in enumerate(inds):
            sub = ds.sel(indicator=ind)
            y = sub.fail_share.values
            se = sub.fail_share_mcse.values
            style = _STYLES[j % len(_STYLES)]
            ax.plot(xs, y, label=INDICATOR_NAMES.get(ind, ind), markersize=4, **style)
            if band > 0:
                ax.fill_between(
                    xs,
                    np.clip(y - band * se, 0, 1),
                    np.clip(y + band * se, 0, 1),
                    color=style["color"],
                    alpha=0.15,
                    linewidth=0,
                )
        ax.set_xlabel(_axis_label(ds, x))
    ax.set_ylabel("share of failing checks")
    ax.set_ylim(0, 1.05)
    ax.legend(fontsize=8, frameon=False)
    _style_ax(ax)
    return ax


# -- verdict margin ------------------------------------------------------------------------


def margin_distribution(ds: Any, *, hue: str | None = None, log: bool = True, ax: Any = None):
    """Distribution of the verdict margin (households whose change reverses the verdict).

    Parameters
    ----------
    ds : xarray.Dataset
        A simulation, or a sweep over ``hue``.
    hue : str, optional
        A swept dimension, one group of bars per value.
    log : bool
        Logarithmic probability axis (default; small probabilities matter).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
        Bars of P(margin = m) for m = 1..10 and "> 10", with 2-MCSE error bars;
        margins of 1–2 households (the official claim) are shaded and
        P(margin <= 2) is printed.
    """
    _check_ds(ds, ("p_margin", "p_margin_mcse", "p_flip"))
    if hue is not None:
        _check_dim(ds, "hue", hue)
    ds = _reduce(
        ds,
        ({hue} if hue else set()) | {"indicator", "k", "margin", "domain"},
        "margin_distribution",
    )
    ax = _new_ax(ax)
    margins = ds.margin.values
    pos = np.arange(len(margins))
    hues = list(ds[hue].values) if hue else [None]
    w = 0.8 / len(hues)
    ax.axvspan(-0.5, 1.5, color="#f0ad4e", alpha=0.18, linewidth=0)
    notes = []
    for j, h in enumerate(hues):
        sub = ds.sel({hue: h}) if hue else ds
        p = sub.p_margin.values
        se = sub.p_margin_mcse.values
        style = _STYLES[j % len(_STYLES)]
        label = None if hue is None else _fmt(h, ds, hue)
        vals = np.where(p > 0, p, np.nan) if log else p
        ax.bar(
            pos - 0.4 + w * (j + 0.5),
            vals,
            w,
            yerr=2 * se,
            color=style["color"],
            label=label,
            capsize=2,
            edgecolor="white",
        )
        f2 = float(sub.p_flip.sel(k=2))
        f2se = float(sub.p_flip_mcse.sel(k=2))
        notes.append(f"{label + ': ' if label else ''}P(margin ≤ 2) = {f2:.4f} ± {f2se:.4f}")
    ticks = [str(m) for m in margins[:-1]] + [f"> {margins[-2]}"]
    ax.set_xticks(pos, ticks)
    ax.set_xlabel("verdict margin (households whose recorded status must change)")
    ax.set_ylabel("probability")
    if log:
        ax.set_yscale("log")
    ax.text(
        0.98,
        0.98,
        "\n".join(notes),
        transform=ax.transAxes,
        va="top",
        ha="right",
        fontsize=8,
        bbox=dict(facecolor="white", edgecolor="#cccccc", alpha=0.9),
    )
    ax.text(
        0.5,
        0.98,
        "1–2\nhouseholds",
        transform=ax.get_xaxis_transform(),
        ha="center",
        va="top",
        fontsize=7,
        color="#8a6d3b",
    )
    if hue is not None:
        ax.legend(
            title=_axis_label(ds, hue),
            fontsize=8,
            title_fontsize=8,
            frameon=False,
            loc="center right",
        )
    _style_ax(ax)
    return ax


# -- design effect -------------------------------------------------------------------------


def design_effect(
    ds: Any,
    x: str | None = None,
    *,
    indicators: tuple[str, ...] = ("wrongful_exit", "omission", "approval"),
    ax: Any = None,
):
    """Realised design effect against the cluster size, with Kish's line.

    The cluster size of an indicator is the mean number of sampled households
    of its domain (exited for wrongful exit, never registered for omission, all
    for approval) per sampled village; Kish's line is ``1 + (m - 1) rho`` with
    ``rho`` the county's ICC of the indicator.

    Parameters
    ----------
    ds : xarray.Dataset
        A sweep of a two-stage design whose cluster size varies (over
        ``design.villages`` or a sample size), or a single simulation.
    x : str, optional
        The swept dimension (default: the only swept dimension, if any).
    indicators : tuple of str
        Indicators to show (each of ``wrongful_exit``, ``omission``, ``approval``).
    ax : matplotlib Axes, optional
        Where to draw (default: a new figure).

    Returns
    -------
    matplotlib.axes.Axes
    """
    _check_ds(ds, ("design_effect", "design_effect_mcse", "sampled_households"))
    if isinstance(indicators, str):
        indicators = (indicators,)
    for ind in indicators:
        if ind not in INDICATOR_DOMAIN:
            raise ValueError(f"indicators must be among {tuple(INDICATOR_DOMAIN)}; got {ind!r}")
    fixed = {"indicator", "k", "margin", "domain"}
    if x is None:
        swept = [d for d in ds.dims if d not in fixed]
        if len(swept) > 1:
            raise ValueError(f"x must name one of the swept dimensions {swept}")
        x = swept[0] if swept else None
    if x is not None:
        _check_dim(ds, "x", x)
    ds = _reduce(ds, ({x} if x else set()) | fixed, "design_effect")
    if _param(ds, "design.kind", "two_stage") != "two_stage" and "design.kind" not in ds.coords:
        raise ValueError("design_effect needs a two-stage design (villages are the clusters)")
    if "design.villages" in ds.coords:
        villages = ds["design.villages"].values.astype(float)
    else:
        villages = np.full(ds.sizes.get(x, 1) if x else 1, float(_param(ds, "design.villages")))
    ax = _new_ax(ax)
    m_all = []
    for j, ind in enumerate(indicators):
        domain, icc_path = INDICATOR_DOMAIN[ind]
        m = np.atleast_1d(ds.sampled_households.sel(domain=domain).values) / villages
        d = np.atleast_1d(ds.design_effect.sel(indicator=ind).values)
        se = np.atleast_1d(ds.design_effect_mcse.sel(indicator=ind).values)
        style = dict(_STYLES[j % len(_STYLES)])
        order = np.argsort(m)
        ax.errorbar(
            m[order],
            d[order],
            yerr=2 * se[order],
            color=style["color"],
            marker=style["marker"],
            linestyle="none",
            capsize=3,
            markersize=5,
            label=f"{INDICATOR_NAMES[ind]} (realised)",
        )
        if icc_path in ds.coords and ds[icc_path].ndim == 1:
            rho = float(ds[icc_path].values[0])
        else:
            rho = float(_param(ds, icc_path, 0.0))
        grid = np.linspace(1.0, max(1.0, float(np.nanmax(m)) * 1.05), 50)
        ax.plot(
            grid,
            1 + (grid - 1) * rho,
            color=style["color"],
            linestyle=style["linestyle"],
            linewidth=1.2,
            label=f"Kish 1 + (m − 1)·{rho:g} ({INDICATOR_NAMES[ind]})",
        )
        m_all.append(m)
    ax.axhline(1.0, color="#888888", linewidth=0.8)
    ax.set_xlabel("cluster size m: sampled households of the domain per village (households)")
    ax.set_ylabel("design effect (variance / SRS variance)")
    ax.set_xlim(left=0)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    _style_ax(ax)
    return ax
