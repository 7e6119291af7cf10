"""The dashboard at `/_mock/`: the mock's state, billing, clock, requests and webhooks in a browser.

Server-rendered pages (`pages.py`, Jinja2 templates in `templates/`) over what the domain and the
other developer tools keep: browsing records (`browse.py`), a customer's billing timeline
(`timeline.py`, drawn as inline SVG by `charts.py`), the request journal with curl commands
(`exchanges.py`). Its stylesheet and its small script ship in `static/`; nothing is built and
nothing is fetched from elsewhere. Served by `AdminMiddleware`, so it has the admin endpoints'
protection, and is absent with `--no-admin`.
"""
from __future__ import annotations

from .pages import Dashboard

__all__ = ["Dashboard"]
