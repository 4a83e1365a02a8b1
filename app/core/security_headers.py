"""Security headers on every response: what a browser may load, frame, sniff and send on.

The Content-Security-Policy is strict: scripts, styles, images and fonts come from Steward
itself, nothing inline (the pages have no inline script or ``style=`` attribute), no page may be
framed (clickjacking of the ticket forms), and forms post only back to Steward. Every response
says ``nosniff``, so a downloaded attachment is never run as something else. Under production
(HTTPS) browsers are told to keep to HTTPS.
"""

from __future__ import annotations

from flask import Flask, Response

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ]
)

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Frame-Options": "DENY",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def init_security_headers(app: Flask) -> None:
    headers = dict(HEADERS)
    if app.config.get("ENV") == "production":
        headers["Strict-Transport-Security"] = HSTS

    @app.after_request
    def _set_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
