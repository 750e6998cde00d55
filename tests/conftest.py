"""Shared test set-up: strict dtype promotion, a key fixture, markers for optional resources."""

import jax
import pytest

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line(
        "markers", "needs_fashion_mnist: needs the Debian package dataset-fashion-mnist"
    )
    config.addinivalue_line("markers", "needs_chromium: needs Debian's chromium at /usr/bin/chromium")


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)
