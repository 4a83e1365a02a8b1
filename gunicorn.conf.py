"""gunicorn settings: several workers sharing one Prometheus multiprocess directory."""

import os

from prometheus_client import multiprocess

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
workers = int(os.environ.get("GUNICORN_WORKERS", "4"))
# gunicorn's control socket defaults to one path per user (~/.gunicorn/gunicorn.ctl), so two
# instances on one host would clash: off, unless GUNICORN_CONTROL_SOCKET names this instance's.
control_socket_disable = not os.environ.get("GUNICORN_CONTROL_SOCKET")
if os.environ.get("GUNICORN_CONTROL_SOCKET"):
    control_socket = os.environ["GUNICORN_CONTROL_SOCKET"]
timeout = 30
accesslog = "-"

# Request limits. gunicorn answers what exceeds these itself, in bare HTML; Steward's own limits
# (MAX_URL_BYTES, MAX_HEADER_BYTES: 4096 and 16384 by default) sit below them, so everything in
# between is answered by Steward in its JSON error contract (414, 431).
limit_request_line = 8190  # the largest gunicorn allows: request line, method and version
limit_request_fields = 100
limit_request_field_size = 8190


def on_starting(server):
    """Start every run with an empty metrics directory (stale files would double-count)."""
    path = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if path:
        os.makedirs(path, exist_ok=True)
        for name in os.listdir(path):
            if name.endswith(".db"):
                os.remove(os.path.join(path, name))


def child_exit(server, worker):
    multiprocess.mark_process_dead(worker.pid)
