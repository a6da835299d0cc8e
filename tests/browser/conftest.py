"""Headless Chromium (Debian's, never a downloaded one) driving the dashboard served by the `web` fixture.

Every page a test opens is watched: a JavaScript dialog (alert/confirm/prompt), a Content-Security-Policy
violation or an uncaught script error fails the test, so an injected script cannot pass unnoticed.
"""
import re
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from tests.browser.helpers import log_in

CHROMIUM_ARGS = ["--no-sandbox", "--disable-background-networking", "--disable-gpu",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Browser]:
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                                             args=CHROMIUM_ARGS)
        yield browser
        browser.close()


class Watch:
    """What went wrong in a context's pages: dialogs opened, CSP violations, script errors."""

    def __init__(self) -> None:
        self.dialogs: list[str] = []
        self.csp_violations: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Page) -> None:
        def on_dialog(dialog: Any) -> None:
            self.dialogs.append(dialog.message)
            dialog.dismiss()

        def on_console(message: Any) -> None:
            if "Content Security Policy" in message.text:
                self.csp_violations.append(f"{message.text} at {message.location}")

        page.on("dialog", on_dialog)
        page.on("console", on_console)
        page.on("pageerror", lambda error: self.errors.append(str(error)))

    def assert_clean(self) -> None:
        assert self.dialogs == [], f"a dialog opened: {self.dialogs}"
        assert self.csp_violations == [], f"Content-Security-Policy violations: {self.csp_violations}"
        assert self.errors == [], f"script errors: {self.errors}"


@pytest.fixture
def new_context(chromium: Browser, web: str) -> Iterator[Callable[..., BrowserContext]]:
    """Factory of browser contexts on the web fixture; every page they open is watched."""
    contexts: list[tuple[BrowserContext, Watch]] = []

    def make(**options: Any) -> BrowserContext:
        options = {"viewport": {"width": 1280, "height": 900}, **options}
        context = chromium.new_context(base_url=web, **options)
        context.set_default_timeout(15_000)
        watch = Watch()
        context.on("page", watch.attach)
        contexts.append((context, watch))
        return context

    yield make
    for context, _ in contexts:
        context.close()
    for _, watch in contexts:
        watch.assert_clean()


@pytest.fixture(scope="session")
def signed_in_state(chromium: Browser, web: str, dashboard_user: tuple[str, str]) -> Any:
    """Cookies of a browser that signed in through the login form once (shared by the tests' contexts)."""
    context = chromium.new_context(base_url=web)
    page = context.new_page()
    page.goto("/")
    assert page.url.endswith("/login")
    log_in(page, *dashboard_user)
    page.wait_for_url(re.compile(r"/$"))
    state = context.storage_state()
    context.close()
    return state


@pytest.fixture
def page(new_context: Callable[..., BrowserContext], signed_in_state: Any) -> Page:
    """A signed-in page."""
    return new_context(storage_state=signed_in_state).new_page()
