"""Browser tests: Debian's Chromium driven by Playwright against a real API and worker on the
embedded stack (SQLite + kombu's sqla broker), like tests/e2e."""

from __future__ import annotations

import os
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import sync_playwright

from tests.api.fixtures import *  # noqa: F403 - the shared service fixtures
from tests.api.services import REPO, unavailable
from tests.e2e.stack import embedded_env, start_stack

CHROMIUM = os.environ.get("MLPGRADE_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]
SCREENSHOTS = REPO / "docs" / "screenshots"


@pytest.fixture(scope="module")
def stack(tmp_path_factory, service_home):
    """The API and one worker, shared by a module's tests (each test uses its own students)."""
    tmp = tmp_path_factory.mktemp("pages")
    s = start_stack("pages", embedded_env(service_home, tmp), tmp)
    s.worker()
    yield s
    s.stop()


def chromium():
    """Chromium under Playwright, for the session's `browser` fixture (tests/conftest.py)."""
    if not Path(CHROMIUM).exists():
        unavailable("Chromium", FileNotFoundError(CHROMIUM))

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@contextmanager
def pages_on(browser, url: str, **options):
    """make(**more) → a page in a fresh browser context (its own cookies) on `url`, 1280×900
    unless `options` or `more` say otherwise; the contexts close on leaving."""
    contexts = []

    def make(**more):
        context = browser.new_context(base_url=url, **{
            "viewport": {"width": 1280, "height": 900}, **options, **more})
        context.set_default_timeout(20_000)
        contexts.append(context)
        return context.new_page()

    try:
        yield make
    finally:
        for context in contexts:
            context.close()


@pytest.fixture
def new_page(browser, stack, tmp_path):
    """new_page() → a page in a fresh browser context (its own cookies) on the stack's URL."""
    with pages_on(browser, stack.url) as make:
        yield make


@pytest.fixture
def shot(tmp_path):
    """shot(page, name, keep=False): a full-page screenshot in the test's folder (of a locator:
    that element alone); with `keep` and MLPGRADE_UPDATE_SCREENSHOTS=1 it also refreshes
    docs/screenshots/<name>.png (the README's)."""
    def take(page, name: str, keep: bool = False) -> Path:
        path = tmp_path / f"{name}.png"
        if hasattr(page, "goto"):
            page.screenshot(path=str(path), full_page=True)
        else:
            page.screenshot(path=str(path))
        if keep and os.environ.get("MLPGRADE_UPDATE_SCREENSHOTS") == "1":
            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            (SCREENSHOTS / f"{name}.png").write_bytes(path.read_bytes())
        return path
    return take
