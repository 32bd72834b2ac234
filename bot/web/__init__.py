"""`telewatch web`: a local web app to review the archive — search, posts with every version, the alert
review queue, rules, channels, charts. Server-rendered (Starlette, Jinja2), htmx shipped in the package."""

from bot.web.app import create_app
from bot.web.state import WebOptions

__all__ = ["WebOptions", "create_app"]
