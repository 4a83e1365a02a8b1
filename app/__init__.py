"""Steward: run an ERP/CRM product after go-live.

``create_app`` is the composition root: it reads settings, wires the shared machinery from
``app.core`` and registers every domain's API blueprints and pages.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import Any

from flask import Flask, send_from_directory
from flask_migrate import Migrate
from flask_smorest import Api
from flask_wtf.csrf import CSRFProtect
from werkzeug.middleware.proxy_fix import ProxyFix

from app.config import Settings, check_production
from app.core import errors, metrics, outbox
from app.core.db import db
from app.core.edge import init_edge
from app.core.forms import init_forms
from app.core.i18n import init_i18n
from app.core.openapi import StewardApi
from app.core.security_headers import init_security_headers
from app.core.timing import init_server_timing

csrf = CSRFProtect()
migrate = Migrate()


def _migrations_dir() -> str:
    """Beside the package in a checkout; in the working directory for an installed package."""
    beside = Path(__file__).resolve().parent.parent / "migrations"
    return str(beside if beside.is_dir() else Path.cwd() / "migrations")


def _api_settings() -> dict[str, Any]:
    return {
        "API_TITLE": "Steward API",
        "API_VERSION": "v1",
        "OPENAPI_VERSION": "3.0.3",
        "OPENAPI_URL_PREFIX": "/api",
        "OPENAPI_JSON_PATH": "openapi.json",
        "OPENAPI_SWAGGER_UI_PATH": "docs",
        "OPENAPI_SWAGGER_UI_URL": "/api/docs/assets/",
        "API_SPEC_OPTIONS": {
            "info": {"description": "Tickets, catalogue, identity and audit of Steward."},
            "components": {"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
            "security": [{"bearer": []}],
        },
    }


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build a Steward application; ``config`` overrides settings read from the environment."""
    app = Flask(__name__, instance_path=None)
    settings = Settings.from_env()
    app.config.update(settings.as_flask_config())
    app.config.update(_api_settings())
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.ENV == "production",
        REMEMBER_COOKIE_HTTPONLY=True,
        SQLALCHEMY_ENGINE_OPTIONS={"pool_pre_ping": True},
        # A CSRF token lives as long as the server-side session whose cookie holds its secret
        # (app/identity/auth.py empties the cookie when the session ends), not by the clock.
        WTF_CSRF_TIME_LIMIT=None,
        MAX_CONTENT_LENGTH=settings.ATTACHMENT_MAX_BYTES + 1024 * 1024,
    )
    if config:
        app.config.update(config)
        if "REDIS_URL" in config:
            app.config["EMBEDDED_JOBS"] = not config["REDIS_URL"]
    check_production(app.config)
    os.makedirs(app.config["INSTANCE_PATH"], exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")

    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops)

    db.init_app(app)
    migrate.init_app(app, db, directory=_migrations_dir(), render_as_batch=True)
    # Order of the request hooks: timing (it counts everything), the edge checks, then the
    # session (an ended one empties the cookie that holds the CSRF secret), then CSRF.
    init_server_timing(app)
    init_edge(app)
    from app.identity.auth import init_auth

    init_auth(app)
    csrf.init_app(app)
    api = StewardApi(app)
    app.extensions["steward.api"] = api
    errors.register_error_handlers(app)  # after the Api, so ours answer every error
    init_forms(app)  # expired and oversized page forms go back to their page
    metrics.instrument(app)
    outbox.init_app(app)
    init_i18n(app)
    init_security_headers(app)

    _register_domains(app, api)
    _register_docs_assets(app)

    @app.context_processor
    def _navigation() -> dict[str, Any]:
        from flask_login import current_user

        from app.core.navigation import nav_for

        user = current_user if current_user.is_authenticated else None
        return {"nav_items": nav_for(user) if user else []}

    from app import cli

    cli.register(app)
    if app.config["EMBEDDED_JOBS"] and not app.config.get("TESTING"):
        from app.core.embedded import start_on_first_request

        start_on_first_request(app)
    return app


# Every domain package, in registration order. A domain may provide ``models``, ``api`` and
# ``views`` (blueprints), ``jobs`` (its ``PERIODIC`` schedule) and ``metrics``
# (``SCRAPE_COLLECTORS``); adding a domain is adding its name here.
DOMAINS: tuple[str, ...] = (
    "core",
    "identity",
    "catalogue",
    "incidents",
    "enhancements",
    "usage",
    "indicators",
    "governance",
    "access",
    "sprints",
)


def _domain_module(domain: str, layer: str) -> Any | None:
    """``app.<domain>.<layer>`` when the domain has that layer, else None."""
    import importlib
    import importlib.util

    name = f"app.{domain}.{layer}"
    if importlib.util.find_spec(name) is None:
        return None
    return importlib.import_module(name)


def _register_domains(app: Flask, api: Api) -> None:
    from app.core.schedule import add_periodic

    for domain in DOMAINS:
        _domain_module(domain, "models")  # every table is known to the metadata (migrations)
    for domain in DOMAINS:
        if http_api := _domain_module(domain, "api"):
            for blueprint in http_api.blueprints():
                csrf.exempt(blueprint)  # bearer tokens, no cookies: CSRF does not apply
                api.register_blueprint(blueprint, url_prefix="/api/v1")
    for domain in DOMAINS:
        if views := _domain_module(domain, "views"):
            app.register_blueprint(views.blueprint)
    for domain in DOMAINS:
        if jobs := _domain_module(domain, "jobs"):
            add_periodic(app, *jobs.PERIODIC)
    metrics.add_scrape_collector(metrics.collect_outbox)
    metrics.add_scrape_collector(metrics.collect_queues)
    for domain in DOMAINS:
        if domain_metrics := _domain_module(domain, "metrics"):
            for collector in getattr(domain_metrics, "SCRAPE_COLLECTORS", ()):
                metrics.add_scrape_collector(collector)


def _register_docs_assets(app: Flask) -> None:
    """Swagger UI comes from an installed package, served locally (no CDN at run time)."""
    import swagger_ui_bundle

    @app.route("/api/docs/assets/<path:filename>")
    def swagger_assets(filename: str):
        return send_from_directory(swagger_ui_bundle.swagger_ui_path, filename)
