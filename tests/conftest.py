"""Shared test set-up: strict dtype promotion, a key fixture, markers for optional resources,
and the browser tests' fixtures (`server`, `browser`, `page`)."""

import os
import tempfile

import jax
import pytest
from _browser import CHROMIUM, CHROMIUM_ARGS, VIEWPORT, require_chromium, serve

# Every run a test makes is recorded in a throw-away store, never in the user's data folder.
os.environ.setdefault("PCVIZ_STORE", os.path.join(tempfile.mkdtemp(prefix="pcviz-store-"),
                                                  "runs.sqlite"))

jax.config.update("jax_numpy_dtype_promotion", "strict")
jax.config.update("jax_numpy_rank_promotion", "raise")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds")
    config.addinivalue_line(
        "markers", "needs_fashion_mnist: needs the Debian package dataset-fashion-mnist"
    )
    config.addinivalue_line("markers",
                            "needs_chromium: needs Debian's chromium at /usr/bin/chromium")
    config.addinivalue_line("markers", "needs_postgres: needs Debian's postgresql server")
    config.addinivalue_line("markers", "needs_nginx: needs Debian's nginx")


@pytest.fixture
def key():
    return jax.random.PRNGKey(0)


_REQUIRED_MARKERS = ("needs_fashion_mnist", "needs_chromium", "needs_postgres", "needs_nginx")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """With PCVIZ_REQUIRE_RESOURCES=1 (CI installs Chromium and Fashion-MNIST), a test that
    needs one of them fails instead of skipping."""
    outcome = yield
    report = outcome.get_result()
    required = os.environ.get("PCVIZ_REQUIRE_RESOURCES") == "1"
    if required and report.skipped and any(item.get_closest_marker(m) for m in _REQUIRED_MARKERS):
        report.outcome = "failed"
        report.longrepr = f"skipped in CI, where it must run: {report.longrepr}"


@pytest.fixture(scope="session")
def run_service():
    """The run service on a local Ray cluster (started once per test session, shut down at
    exit): the same service the dashboard and the command line use."""
    from pcviz import service

    service.ensure()
    return service


# -- the browser tests' fixtures: the app served on a free port (one server per test module),
# Debian's Chromium driven by Playwright, and a page in a fresh context per test.


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """The app served on a free port; yields its base URL and always stops it."""
    require_chromium()
    with serve(log=tmp_path_factory.mktemp("streamlit") / "server.log") as running:
        yield running.url


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium (`/usr/bin/chromium`) for the module's tests."""
    from playwright.sync_api import sync_playwright

    require_chromium()

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser):
    """A page in a context of its own (no shared cookies or cache), closed after the test."""
    context = browser.new_context(viewport=VIEWPORT)
    try:
        yield context.new_page()
    finally:
        context.close()
