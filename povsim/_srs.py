"""Variance of the published estimators under simple random sampling (the deff baseline)."""

from __future__ import annotations

import numpy as np

from .county import EXITED, NONREGISTERED, Population


def _ratio_variance(y_prob, size, n, replace):
    """Variance of ``sum(size * flag) / sum(size)`` over an SRS of ``n`` units.

    Unit ``i`` has ``size[i]`` persons and is recorded as a problem with
    probability ``y_prob[i]``, independently. Linearised (Taylor) variance of the
    ratio estimator: the design part ``(1 - f) S_z^2 / (n zbar^2)`` of the
    expected residuals plus the measurement part ``mean(Var_i) / (n zbar^2)``.
    """
    big_n = size.shape[0]
    if n <= 0 or big_n == 0:
        return np.nan
    size = size.astype(np.float64)
    ratio = np.sum(size * y_prob) / np.sum(size)
    resid = size * y_prob - ratio * size  # expected residual of each unit
    meas_var = size**2 * y_prob * (1.0 - y_prob)  # Var of the residual given the unit
    zbar = size.mean()
    if replace:
        design = np.mean(resid**2)
    else:
        design = (1.0 - n / big_n) * np.sum(resid**2) / max(big_n - 1, 1)
    return (design + meas_var.mean()) / (n * zbar**2)


def srs_variances(pop: Population, measurement, *, exited, nonregistered, households, replace):
    """SRS variances of (incidence, wrongful exit, omission, approval) estimates.

    ``exited``, ``nonregistered``, ``households``: (mean) sample sizes of the
    three domains. Misclassification enters at the effective sensitivity and
    specificity, independent between households.
    """
    se = measurement.effective_sensitivity
    fp = 1.0 - measurement.effective_specificity
    out = np.full(4, np.nan)
    for j, status, n in ((1, EXITED, exited), (2, NONREGISTERED, nonregistered)):
        sel = pop.status == status
        q = np.where(pop.problem[sel], se, fp)
        out[j] = _ratio_variance(q, pop.size[sel], n, replace)
    qa = np.where(
        pop.approve, 1.0 - measurement.approval_underreport, measurement.approval_overreport
    )
    out[3] = _ratio_variance(qa, np.ones(pop.households, np.int64), households, replace)
    t = pop.totals
    from ._engine import population as _p

    persons = t[_p.T_EXITED_PERSONS] + t[_p.T_NONREG_PERSONS] + t[_p.T_REMAINING_PERSONS]
    out[0] = (t[_p.T_EXITED_PERSONS] / persons) ** 2 * out[1] + (
        t[_p.T_NONREG_PERSONS] / persons
    ) ** 2 * out[2]
    return out
