import os

import numpy as np
import pytest
from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    # in CI (CI=true) the examples are derived from each test, so a landing never
    # hangs on a new random example; developers' runs keep exploring
    derandomize=os.environ.get("CI", "") == "true",
)
settings.load_profile("ci")


def pytest_addoption(parser):
    parser.addoption("--runslow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--runslow"):
        return
    skip = pytest.mark.skip(reason="slow: opt in with --runslow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


def z_score(estimate, mcse, exact):
    """Distance from the exact answer in Monte Carlo standard errors."""
    estimate = float(estimate)
    mcse = float(mcse)
    if mcse == 0.0:
        return 0.0 if estimate == exact else np.inf
    return (estimate - exact) / mcse


def assert_within_mcse(estimate, mcse, exact, z=4.0):
    score = z_score(estimate, mcse, exact)
    assert abs(score) <= z, f"estimate {float(estimate):.6g} vs exact {exact:.6g}: z = {score:.2f}"
