"""Real receivers for notifications, and a real RQ worker to deliver to them (every domain).

``smtp_server`` is an aiosmtpd server and ``webhook_receiver`` a threading HTTP server, both on
loopback with a free port; ``run_jobs(app)`` works off every queued job with RQ's SimpleWorker
in burst mode, after moving retries whose backoff has elapsed (on the frozen clock) back onto
their queue, as RQ's scheduler would.
"""

from __future__ import annotations

import email
import json
import signal
import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.policy import default as default_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from aiosmtpd.controller import Controller
from flask import Flask
from rq import Queue, SimpleWorker
from rq.utils import current_timestamp

from app.core.queue import QUEUE_NAMES, get_queue, redis_for


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


# --- SMTP -----------------------------------------------------------------------------------


@dataclass
class ReceivedMail:
    """One message as the SMTP server received it: envelope recipients and the parsed email."""

    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def subject(self) -> str:
        return str(self.message["Subject"])

    @property
    def body(self) -> str:
        return self.message.get_content()


class _StoringHandler:
    def __init__(self, store: list[ReceivedMail]) -> None:
        self.store = store

    async def handle_DATA(self, server, session, envelope) -> str:
        parsed = email.message_from_bytes(envelope.content, policy=default_policy)
        self.store.append(ReceivedMail(rcpt_tos=list(envelope.rcpt_tos), message=parsed))
        return "250 Message accepted for delivery"


@dataclass
class SmtpServer:
    """A real SMTP server on 127.0.0.1:port; ``stop()`` closes the port, ``start()`` reopens it."""

    host: str
    port: int
    messages: list[ReceivedMail] = field(default_factory=list)
    _controller: Controller | None = None

    def start(self) -> None:
        if self._controller is None:
            controller = Controller(
                _StoringHandler(self.messages), hostname=self.host, port=self.port
            )
            controller.start()
            self._controller = controller

    def stop(self) -> None:
        if self._controller is not None:
            self._controller.stop()
            self._controller = None

    def to(self, address: str) -> list[ReceivedMail]:
        """The messages whose envelope names ``address``."""
        return [m for m in self.messages if address in m.rcpt_tos]


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer(host="127.0.0.1", port=_free_port())
    server.start()
    yield server
    server.stop()


# --- webhook --------------------------------------------------------------------------------


@dataclass
class WebhookReceiver:
    """A real HTTP endpoint recording JSON bodies; set ``failing = True`` to answer 500."""

    url: str = ""
    bodies: list[dict] = field(default_factory=list)
    failing: bool = False


@pytest.fixture
def webhook_receiver() -> Iterator[WebhookReceiver]:
    receiver = WebhookReceiver()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if receiver.failing:
                self.send_response(500)
                self.end_headers()
                return
            receiver.bodies.append(json.loads(raw))
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, format: str, *args) -> None:  # keep test output quiet
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    host, port = server.server_address[:2]
    receiver.url = f"http://{host}:{port}/hooks/steward"
    thread = threading.Thread(target=server.serve_forever, name="webhook-receiver", daemon=True)
    thread.start()
    yield receiver
    server.shutdown()
    server.server_close()
    thread.join(timeout=5)


# --- jobs -----------------------------------------------------------------------------------


def _release_due_retries(queues: list[Queue]) -> None:
    """What RQ's scheduler does each tick (its own lock needs Lua, which fakeredis lacks)."""
    for queue in queues:
        registry = queue.scheduled_job_registry
        for due in registry.get_jobs_to_schedule(current_timestamp()):
            job = queue.fetch_job(due)
            registry.remove(due)
            if job is not None:
                queue.enqueue_job(job)


@pytest.fixture
def run_jobs() -> Iterator[Callable[[Flask], None]]:
    """run_jobs(app): a real RQ worker works off the app's queues, then stops (burst mode)."""

    def run(app: Flask) -> None:
        queues = [get_queue(name, app) for name in QUEUE_NAMES]
        _release_due_retries(queues)
        handlers = {sig: signal.getsignal(sig) for sig in (signal.SIGINT, signal.SIGTERM)}
        try:
            worker = SimpleWorker(queues, connection=redis_for(app))
            worker.work(burst=True, logging_level="WARNING")
        finally:  # the worker installs its own handlers; give pytest back its own
            for sig, handler in handlers.items():
                signal.signal(sig, handler)

    yield run  # the app fixture removes the jobs' keys from a real Redis afterwards
