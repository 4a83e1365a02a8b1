"""End-to-end harness: the real app in its own process, driven by headless Chromium.

One server per test session (SQLite under a temporary instance directory, embedded job queue,
CSRF enabled, demo data loaded) and one browser; each test gets a fresh browser context.

Fixtures:

- ``live_server``: the base URL, e.g. ``http://127.0.0.1:41234`` (session).
- ``browser``: a Playwright ``Browser`` (session).
- ``page``: a ``Page`` in a fresh context whose ``base_url`` is the server, so
  ``page.goto("/tickets")`` works; default timeout 10 s (function).
- ``new_page``: a factory of more isolated pages (another user at the same time).
- ``login_as``: ``login_as("requester")`` signs a demo user in on ``page`` (or on
  ``login_as("agent", page=other)``) and returns that page.
- ``login(page, base_url, email, password)``: a plain helper that submits the login form.

Chromium comes from ``CHROMIUM_PATH`` if set (a missing file then counts as not found), else
``chromium`` or ``chromium-browser`` on the PATH. Without it (or without Playwright) the tests
skip, except in CI (``CI`` set) where they fail.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest

from app.demo import DEMO_LOGINS, DEMO_PASSWORD

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
FLASK = str(Path(sys.executable).parent / "flask")
# generous waits: the suite runs the browser beside the other tests on a busy machine
DEFAULT_TIMEOUT_MS = 30_000
ATTACHMENT_MAX_BYTES = 1024 * 1024
STARTUP_SECONDS = 180
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# Settings of the caller's shell that would point the server elsewhere than its own sandbox.
SCRUBBED_ENV = (
    "DATABASE_URL",
    "REDIS_URL",
    "QUEUE_PREFIX",
    "STEWARD_ENV",
    "ATTACHMENT_DIR",
    "SMTP_HOST",
    "SMTP_USER",
    "SMTP_PASSWORD",
    "WEBHOOK_URL",
    "PROMETHEUS_MULTIPROC_DIR",
    "WORKER_METRICS_PORT",
    "FLASK_APP",
    "FLASK_DEBUG",
    "FLASK_RUN_HOST",
    "FLASK_RUN_PORT",
)


def _demo_accounts() -> dict[str, str]:
    """Role key -> demo email: both the login's local part ("keyuser") and its role ("key_user")."""
    accounts: dict[str, str] = {}
    for email, role in DEMO_LOGINS:
        accounts[email.split("@")[0]] = email
        accounts.setdefault(role.split()[0], email)
    return accounts


DEMO_ACCOUNTS = _demo_accounts()
_CALL_FAILED = pytest.StashKey[bool]()


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.path.is_relative_to(HERE):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Any:
    report = yield
    if report.when == "call":
        item.stash[_CALL_FAILED] = report.failed
    return report


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in {"", "0", "false", "no", "off"}


def _unavailable(reason: str) -> NoReturn:
    """Skip locally; in CI a missing browser is a broken pipeline, so fail."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so the end-to-end tests cannot be skipped)")
    pytest.skip(reason)


def _find_chromium() -> str | None:
    configured = os.environ.get("CHROMIUM_PATH", "").strip()
    if configured:  # set: use it or nothing, never a silent fallback to another browser
        return shutil.which(configured)
    return shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """Chromium's path, after checking that it and Playwright are installed."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        _unavailable("Playwright not installed: pip install -e '.[dev]'")
    path = _find_chromium()
    if path is None:
        configured = os.environ.get("CHROMIUM_PATH", "").strip()
        where = f"CHROMIUM_PATH={configured} is not an executable" if configured else "not on PATH"
        _unavailable(f"Chromium not installed ({where}): apt-get install chromium")
    return path


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _flask(env: dict[str, str], *args: str) -> None:
    command = [FLASK, "--app", "app", *args]
    try:
        done = subprocess.run(
            command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
        )
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"{' '.join(command)} timed out: {exc.stderr}")
    if done.returncode != 0:
        pytest.fail(f"{' '.join(command)} failed ({done.returncode}):\n{done.stdout}{done.stderr}")


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/healthz", timeout=2) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError):
        return False


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


@pytest.fixture(scope="session")
def live_server(tmp_path_factory, chromium_executable) -> Iterator[str]:
    """The real app, migrated and loaded with demo data, served in its own process."""
    instance = tmp_path_factory.mktemp("e2e-instance")
    port = _free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if k not in SCRUBBED_ENV}
    env.update(
        STEWARD_INSTANCE_PATH=str(instance),
        SECRET_KEY="e2e",
        BASE_URL=base_url,
        PYTHONUNBUFFERED="1",
        # small enough that a test can send a file over the limit in no time
        ATTACHMENT_MAX_BYTES=str(ATTACHMENT_MAX_BYTES),
    )
    _flask(env, "db", "upgrade")
    _flask(env, "demo", "load", "--users", "20", "--months", "1")

    log_path = instance / "server.log"
    with open(log_path, "wb") as log:  # a file, not a pipe: a full pipe would block the server
        process = subprocess.Popen(
            [
                FLASK,
                "--app",
                "app",
                "run",
                "--no-reload",
                "--host",
                "127.0.0.1",
                "--port",
                f"{port}",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not _healthy(base_url):
            if process.poll() is not None or time.monotonic() > deadline:
                state = (
                    f"exited with {process.returncode}"
                    if process.poll() is not None
                    else f"not healthy after {STARTUP_SECONDS} s"
                )
                output = log_path.read_text(errors="replace")[-5000:]
                pytest.fail(f"the e2e server {state}; its output:\n{output}")
            time.sleep(0.2)
        yield base_url
    finally:
        _stop(process)


@pytest.fixture(scope="session")
def browser(chromium_executable) -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=chromium_executable, headless=True, args=CHROMIUM_ARGS
        )
        yield browser
        browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser, live_server, request, tmp_path) -> Iterator[Callable[[], Any]]:
    """Pages in fresh contexts (own cookies), closed after the test; on failure each leaves a
    screenshot in the test's tmp_path."""
    contexts = []

    def make() -> Any:
        context = browser.new_context(base_url=live_server)
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        contexts.append(context)
        return context.new_page()

    yield make
    failed = request.node.stash.get(_CALL_FAILED, False)
    for number, context in enumerate(contexts):
        if failed:
            for index, page in enumerate(context.pages):
                with contextlib.suppress(Exception):  # a screenshot must not hide the failure
                    page.screenshot(path=str(tmp_path / f"failure-{number}-{index}.png"))
        context.close()


@pytest.fixture
def page(new_page) -> Any:
    return new_page()


def login(page: Any, base_url: str, email: str, password: str) -> None:
    """Submit the login form (no assertion: a wrong password is a legitimate case)."""
    page.goto(f"{base_url}/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    with page.expect_navigation():
        page.get_by_role("button", name="Sign in").click()


@pytest.fixture
def login_as(page, live_server) -> Callable[..., Any]:
    """``login_as("requester")`` signs that demo user in and returns the page it used."""

    def sign_in(role_key: str, *, page: Any = page) -> Any:
        try:
            email = DEMO_ACCOUNTS[role_key]
        except KeyError:
            raise KeyError(f"no demo login {role_key!r}; known: {sorted(DEMO_ACCOUNTS)}") from None
        login(page, live_server, email, DEMO_PASSWORD)
        if page.url.split("?")[0].endswith("/login"):
            alert = page.locator("[role=alert]").all_inner_texts()
            pytest.fail(f"login as {email} failed: {alert}")
        return page

    return sign_in
