# syntax=docker/dockerfile:1
# Steward web / worker / scheduler image.
#   docker build -t steward .
#   docker compose up        (see docker-compose.yml)
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    # gunicorn workers (and any other process) write metric samples here; /metrics
    # aggregates them with prometheus_client's multiprocess collector.
    PROMETHEUS_MULTIPROC_DIR=/tmp/prometheus

RUN groupadd --system --gid 10001 steward \
 && useradd --system --uid 10001 --gid steward --home-dir /srv/steward --no-create-home \
      --shell /usr/sbin/nologin steward

WORKDIR /srv/steward

# Dependencies and the package itself. README.md is optional at build time (wildcard).
COPY pyproject.toml README.md* ./
COPY app ./app
COPY workers ./workers
RUN pip install . \
 && rm -rf build ./*.egg-info

# Run-time files resolved relative to the source tree / working directory:
# migrations/ (Flask-Migrate, next to app/) and the gunicorn settings.
COPY migrations ./migrations
COPY gunicorn.conf.py ./

# instance/ holds attachments (and the SQLite file when DATABASE_URL is unset);
# docker-compose mounts a volume there, which inherits this ownership.
RUN mkdir -p /srv/steward/instance "$PROMETHEUS_MULTIPROC_DIR" \
 && chown steward:steward /srv/steward/instance "$PROMETHEUS_MULTIPROC_DIR"

USER steward

EXPOSE 8000

CMD ["gunicorn", "--config", "gunicorn.conf.py", "-w", "4", "-b", "0.0.0.0:8000", "app:create_app()"]
