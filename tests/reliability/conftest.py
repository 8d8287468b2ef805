"""Fixtures of the reliability suite, and the switch for its full-size runs.

Tests marked `slow` are the full-size variants (10,000 events and more). They run only when
asked for: `XLA_RELIABILITY_FULL=1`, or a `-m` expression that names `slow`. The default suite
runs the scaled-down variants, which assert the same properties.
"""
from __future__ import annotations

import os

import pytest

from tests.reliability.deployment import Deployment

FULL_RUN_ENV = "XLA_RELIABILITY_FULL"


def pytest_collection_modifyitems(config, items):
    """Leave the full-size variants out of the default run (deselected, not skipped: they are
    not missing anything, they are the long form of tests that do run)."""
    if os.environ.get(FULL_RUN_ENV) == "1" or "slow" in (config.getoption("-m") or ""):
        return
    here = os.path.dirname(__file__)
    full_size = [item for item in items if "slow" in item.keywords and item.path.is_relative_to(here)]
    if full_size:
        config.hook.pytest_deselected(items=full_size)
        items[:] = [item for item in items if item not in full_size]


@pytest.fixture
def deployment_factory(tmp_path):
    """`make(simulators, **options)` -> a prepared `Deployment` (simulators up, config written,
    schema migrated); every deployment made is closed after the test."""
    made: list[Deployment] = []

    def make(simulators, **options) -> Deployment:
        workdir = tmp_path / f"deployment-{len(made)}"
        workdir.mkdir()
        deployment = Deployment(workdir, simulators, **options)
        made.append(deployment)
        return deployment.prepare()

    yield make
    for deployment in made:
        deployment.close()
