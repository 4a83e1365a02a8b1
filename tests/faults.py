"""Faults to inject into the job system: a Redis that hangs, one that refuses, one we can kill.

- ``hung_redis``: a loopback TCP server that accepts every connection and never answers (a
  Redis stuck in a slow command, a half-dead proxy); it counts the connections it got.
- ``refused_redis_url()``: a loopback port where nothing listens (connection refused).
- ``private_redis``: a real ``redis-server`` process of the test's own on a free port, which
  the test may ``stop()`` (refused connections, as when Redis dies) and ``start()`` again.

Import the fixtures into the test module that uses them.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from redis import Redis

# What a request facing a sick Redis may cost, at most: the hand-off timeout is 0.1 s, but a
# default Redis client waits 5 s for one answer (the old hand-off did, per outbox row). The
# bound stays clearly below that, yet generous enough for a loaded machine.
SICK_REDIS_BOUND_SECONDS = 4.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def refused_redis_url() -> str:
    """A Redis URL on a loopback port nobody listens on."""
    return f"redis://127.0.0.1:{free_port()}/0"


@dataclass
class HungRedis:
    """Accepts connections, reads nothing, answers nothing."""

    port: int = 0
    connections: int = 0
    _server: socket.socket | None = None
    _clients: list[socket.socket] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def _accept_forever(self) -> None:
        assert self._server is not None
        while True:
            try:
                client, _ = self._server.accept()
            except OSError:  # closed
                return
            self.connections += 1
            self._clients.append(client)

    def start(self) -> None:
        self._server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._server.bind(("127.0.0.1", 0))
        self._server.listen(64)
        self.port = self._server.getsockname()[1]
        threading.Thread(target=self._accept_forever, name="hung-redis", daemon=True).start()

    def close(self) -> None:
        if self._server is not None:
            self._server.close()
        for client in self._clients:
            client.close()


@pytest.fixture
def hung_redis() -> Iterator[HungRedis]:
    server = HungRedis()
    server.start()
    yield server
    server.close()


@dataclass
class RedisServer:
    """A ``redis-server`` of our own (no persistence), on loopback."""

    port: int
    folder: Path
    process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is needed"
        self.process = subprocess.Popen(
            [
                binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                if Redis(port=self.port, socket_connect_timeout=0.5).ping():
                    return
            except Exception:
                time.sleep(0.05)
        raise RuntimeError("redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=10)
            self.process = None


@pytest.fixture
def private_redis(tmp_path) -> Iterator[RedisServer]:
    if not shutil.which("redis-server"):
        message = "redis-server is not installed (Debian package redis-server)"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    server = RedisServer(port=free_port(), folder=tmp_path)
    server.start()
    yield server
    server.stop()
