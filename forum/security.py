"""Security headers on every response (pages, JSON and errors alike).

A few lines of `after_request` rather than Flask-Talisman: the policy is one string built at
start-up from the settings, and the headers are all that Talisman would add here (HTTPS
redirects belong to the proxy in front)."""

from __future__ import annotations

from flask import Flask, Response

from . import markup


def content_security_policy(image_hosts: list[str]) -> str:
    """No inline script or style, nothing from other hosts but the pictures of allowed image
    hosts (posts show other pictures as links), and no framing (clickjacking)."""
    images = " ".join(["'self'", *(f"https://{host}" for host in image_hosts)])
    return "; ".join(
        [
            "default-src 'self'",
            f"img-src {images}",
            "script-src 'self'",
            "style-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


def init_app(app: Flask) -> None:
    hosts = app.config["IMAGE_HOSTS"]
    markup.allow_image_hosts(hosts)
    headers = {
        "Content-Security-Policy": content_security_policy(hosts),
        "X-Frame-Options": "DENY",
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "strict-origin-when-cross-origin",
        "Cross-Origin-Opener-Policy": "same-origin",
    }
    if app.config["SESSION_COOKIE_SECURE"]:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"

    @app.after_request
    def add_security_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response
