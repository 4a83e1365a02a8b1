"""Oversized requests under gunicorn: Steward's own limits (MAX_URL_BYTES, MAX_HEADER_BYTES)
sit below gunicorn's (gunicorn.conf.py), so a too-long URL or too-large headers get Steward's
JSON error, not gunicorn's bare HTML page."""

from __future__ import annotations

import os
import runpy
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from app.config import Settings

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory) -> Iterator[str]:
    """Steward under gunicorn, one worker, its own instance directory."""
    tmp = tmp_path_factory.mktemp("limits")
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in {"REDIS_URL", "DATABASE_URL", "PROMETHEUS_MULTIPROC_DIR", "STEWARD_ENV"}
    }
    env.update(STEWARD_INSTANCE_PATH=str(tmp), SECRET_KEY="test-secret")
    port = _free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = tmp / "gunicorn.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [
                str(BIN / "gunicorn"),
                *("--config", "gunicorn.conf.py", "-w", "1", "-b", f"127.0.0.1:{port}"),
                "app:create_app()",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 60
            while True:
                if process.poll() is not None or time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not start:\n{log_path.read_text()[-3000:]}")
                try:
                    if requests.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except (requests.ConnectionError, requests.Timeout):
                    time.sleep(0.2)
            yield url
        finally:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def test_stewards_limits_sit_below_gunicorns():
    gunicorn = runpy.run_path(str(ROOT / "gunicorn.conf.py"))
    steward = Settings()

    assert steward.MAX_URL_BYTES + len("GET  HTTP/1.1") < gunicorn["limit_request_line"]
    assert gunicorn["limit_request_field_size"] * gunicorn["limit_request_fields"] > (
        steward.MAX_HEADER_BYTES
    )


def test_a_url_beyond_the_limit_is_a_json_414_under_gunicorn(server):
    response = requests.get(f"{server}/api/v1/tickets?q={'x' * 6000}", timeout=10)

    assert response.status_code == 414
    assert response.headers["Content-Type"] == "application/json"
    assert response.json()["code"] == "uri_too_long"


def test_headers_beyond_the_limit_are_a_json_431_under_gunicorn(server):
    padding = {f"X-Padding-{n}": "x" * 6000 for n in range(3)}

    response = requests.get(f"{server}/api/v1/me", headers=padding, timeout=10)

    assert response.status_code == 431
    assert response.json()["code"] == "request_header_fields_too_large"


def test_a_page_url_beyond_the_limit_is_an_html_414(server):
    response = requests.get(f"{server}/tickets?q={'x' * 6000}", timeout=10)

    assert response.status_code == 414
    assert response.headers["Content-Type"].startswith("text/html")
    assert "414" in response.text
