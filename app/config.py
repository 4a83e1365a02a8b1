"""Settings read once from environment variables, each with an embedded default.

With nothing set, Steward runs embedded: a SQLite file under ``instance/``, an in-process job
queue and a development secret. ``STEWARD_ENV=production`` refuses to start without a real
``SECRET_KEY``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, fields
from pathlib import Path

DEV_SECRET = "steward-development-only-secret"


def _env(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def _env_int(name: str, default: int) -> int:
    raw = _env(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ValueError(f"{name} must be an integer, got {raw!r}") from exc


def _env_bool(name: str, default: bool) -> bool:
    raw = _env(name)
    if raw is None:
        return default
    return raw.lower() in {"1", "true", "yes", "on"}


def default_instance_path() -> Path:
    return Path(_env("STEWARD_INSTANCE_PATH", str(Path.cwd() / "instance")))


@dataclass
class Settings:
    """Every setting Steward reads, with its environment variable and default (see README)."""

    ENV: str = "development"
    SECRET_KEY: str = DEV_SECRET
    SQLALCHEMY_DATABASE_URI: str = ""
    REDIS_URL: str | None = None
    QUEUE_PREFIX: str = ""
    BASE_URL: str = "http://127.0.0.1:5000"
    INSTANCE_PATH: str = ""
    SMTP_HOST: str | None = None
    SMTP_PORT: int = 25
    SMTP_USER: str | None = None
    SMTP_PASSWORD: str | None = None
    SMTP_STARTTLS: bool = False
    SMTP_TIMEOUT: int = 10
    MAIL_FROM: str = "steward@localhost"
    WEBHOOK_URL: str | None = None
    WEBHOOK_TIMEOUT: int = 5
    ATTACHMENT_MAX_BYTES: int = 10 * 1024 * 1024
    ATTACHMENT_DIR: str = ""
    API_TOKEN_TTL_HOURS: int = 12
    API_TOKEN_MAX_DAYS: int = 90
    SERVICE_TOKEN_MAX_DAYS: int = 730
    LOGIN_MAX_ATTEMPTS: int = 5
    LOGIN_ADDRESS_MAX_ATTEMPTS: int = 50
    LOGIN_WINDOW_SECONDS: int = 900
    SESSION_IDLE_MINUTES: int = 30
    TRUSTED_PROXIES: int = 0
    MAX_URL_BYTES: int = 4096
    MAX_HEADER_BYTES: int = 16384
    TICKET_AUTO_CLOSE_DAYS: int = 7
    TICKET_REOPEN_DAYS: int = 14
    SLA_WARNING_RATIO: float = 0.8
    EMBEDDED_JOBS: bool = True
    OUTBOX_RETRY_SECONDS: int = 60
    PAGE_DEFAULT_LIMIT: int = 25
    PAGE_MAX_LIMIT: int = 200
    DEFAULT_TIMEZONE: str = "UTC"
    # Server-Timing headers (database time, statements); None: on in development only
    SERVER_TIMING: bool | None = None
    extra: dict = field(default_factory=dict)

    @classmethod
    def from_env(cls) -> Settings:
        instance = default_instance_path()
        env = _env("STEWARD_ENV", "development") or "development"
        settings = cls(
            ENV=env,
            SECRET_KEY=_env("SECRET_KEY", DEV_SECRET) or DEV_SECRET,
            SQLALCHEMY_DATABASE_URI=_env("DATABASE_URL", f"sqlite:///{instance / 'steward.db'}")
            or "",
            REDIS_URL=_env("REDIS_URL"),
            QUEUE_PREFIX=_env("QUEUE_PREFIX", "") or "",
            BASE_URL=_env("BASE_URL", "http://127.0.0.1:5000") or "",
            INSTANCE_PATH=str(instance),
            SMTP_HOST=_env("SMTP_HOST"),
            SMTP_PORT=_env_int("SMTP_PORT", 25),
            SMTP_USER=_env("SMTP_USER"),
            SMTP_PASSWORD=_env("SMTP_PASSWORD"),
            SMTP_STARTTLS=_env_bool("SMTP_STARTTLS", False),
            MAIL_FROM=_env("MAIL_FROM", "steward@localhost") or "",
            WEBHOOK_URL=_env("WEBHOOK_URL"),
            ATTACHMENT_MAX_BYTES=_env_int("ATTACHMENT_MAX_BYTES", 10 * 1024 * 1024),
            ATTACHMENT_DIR=_env("ATTACHMENT_DIR", str(instance / "attachments")) or "",
            API_TOKEN_TTL_HOURS=_env_int("API_TOKEN_TTL_HOURS", 12),
            API_TOKEN_MAX_DAYS=_env_int("API_TOKEN_MAX_DAYS", 90),
            SERVICE_TOKEN_MAX_DAYS=_env_int("SERVICE_TOKEN_MAX_DAYS", 730),
            LOGIN_MAX_ATTEMPTS=_env_int("LOGIN_MAX_ATTEMPTS", 5),
            LOGIN_ADDRESS_MAX_ATTEMPTS=_env_int("LOGIN_ADDRESS_MAX_ATTEMPTS", 50),
            LOGIN_WINDOW_SECONDS=_env_int("LOGIN_WINDOW_SECONDS", 900),
            SESSION_IDLE_MINUTES=_env_int("SESSION_IDLE_MINUTES", 30),
            TRUSTED_PROXIES=_env_int("TRUSTED_PROXIES", 0),
            MAX_URL_BYTES=_env_int("MAX_URL_BYTES", 4096),
            MAX_HEADER_BYTES=_env_int("MAX_HEADER_BYTES", 16384),
            TICKET_AUTO_CLOSE_DAYS=_env_int("TICKET_AUTO_CLOSE_DAYS", 7),
            TICKET_REOPEN_DAYS=_env_int("TICKET_REOPEN_DAYS", 14),
            SLA_WARNING_RATIO=float(_env("SLA_WARNING_RATIO", "0.8") or 0.8),
            DEFAULT_TIMEZONE=_env("DEFAULT_TIMEZONE", "UTC") or "UTC",
            SERVER_TIMING=_env_bool("SERVER_TIMING", False) if _env("SERVER_TIMING") else None,
        )
        settings.EMBEDDED_JOBS = settings.REDIS_URL is None
        return settings

    def as_flask_config(self) -> dict:
        config = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        config.update(self.extra)
        return config


class ConfigurationError(RuntimeError):
    """Steward cannot start with these settings."""


def check_production(config: dict) -> None:
    """Refuse to run production with the development secret."""
    if config.get("ENV") == "production" and config.get("SECRET_KEY") in (None, "", DEV_SECRET):
        raise ConfigurationError("SECRET_KEY must be set when STEWARD_ENV=production")
