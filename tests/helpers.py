"""Small concrete populations built by hand, and small counties, for the tests."""

import numpy as np

from povsim import County, Population

#: A small county with village-level heterogeneity in every rate (fresh-population tests).
SMALL_HETEROGENEOUS = County(
    villages=30,
    households_per_village=(40, 80),
    wrongful_exit_rate=0.02,
    omission_rate=0.015,
    approval_rate=0.92,
    icc_wrongful_exit=0.1,
    icc_omission=0.05,
    icc_approval=0.1,
)


def one_person_population(
    *,
    exited=5000,
    wrongful=0,
    remaining=300,
    nonregistered=20000,
    omitted=0,
    disapprove=0,
    villages=50,
    region="western",
):
    """A population of one-person households with exact counts in each stratum.

    ``disapprove`` households (spread over the strata in proportion) do not
    approve; problems and approvals are interleaved so they overlap a little.
    """
    status = np.concatenate(
        [np.zeros(exited, int), np.ones(remaining, int), np.full(nonregistered, 2)]
    )
    problem = np.concatenate(
        [
            np.arange(exited) < wrongful,
            np.zeros(remaining, bool),
            np.arange(nonregistered) < omitted,
        ]
    )
    n = status.size
    approve = np.ones(n, bool)
    if disapprove:
        approve[np.linspace(0, n - 1, disapprove).round().astype(int)] = False
    village = np.arange(n) % villages
    return Population.from_households(
        village=village,
        size=np.ones(n, int),
        status=status,
        problem=problem,
        approve=approve,
        region=region,
    )
