"""Rendering helpers shared by the page modules: templates, the web state, query parameters."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from jinja2 import Environment, FileSystemLoader, select_autoescape
from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import HTMLResponse

from bot.domain.numbers import parse_int
from bot.web.inputs import BadParam as BadParam  # raised by every page module
from bot.web.security import CSRF_FIELD, csrf_token
from bot.web.state import WebState

TEMPLATES = Path(__file__).resolve().parent / "templates"
STATIC = Path(__file__).resolve().parent / "static"

env = Environment(
    loader=FileSystemLoader(TEMPLATES),
    autoescape=select_autoescape(default=True, default_for_string=True),
    trim_blocks=True,
    lstrip_blocks=True,
)


def state(request: Request) -> WebState:
    web: WebState = request.app.state.web
    return web


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    web = state(request)
    token = csrf_token(request)
    values = {
        **web.template_globals(),
        "request": request,
        "csrf": token,
        "csrf_field": Markup(f'<input type="hidden" name="{CSRF_FIELD}" value="{token}">'),
        "local": web.local,
        "path": request.url.path,
        **context,
    }
    return HTMLResponse(env.get_template(name).render(values), status_code=status)


def is_htmx(request: Request) -> bool:
    return request.headers.get("hx-request") == "true"


def one(request: Request, name: str) -> str:
    return (request.query_params.get(name) or "").strip()


def tri(request: Request, name: str) -> bool | None:
    """'yes' / 'no' / '' (either) as True / False / None."""
    value = one(request, name).lower()
    if value in ("", "any"):
        return None
    if value in ("yes", "1", "true"):
        return True
    if value in ("no", "0", "false"):
        return False
    raise BadParam(f"{name}={value!r}: use yes, no or leave it empty")


def page_number(request: Request) -> int:
    value = one(request, "page") or "1"
    number = parse_int(value, 1, 10_000)
    if number is None:
        raise BadParam(f"page={value!r}: a page number from 1 to 10000")
    return number


def day(request: Request, name: str, zone: Any, *, end: bool = False) -> datetime | None:
    """A date field (YYYY-MM-DD, or YYYY-MM-DDTHH:MM) in the display zone, as UTC; `end` = the day after."""
    value = one(request, name)
    if not value:
        return None
    try:
        parsed = datetime.fromisoformat(value)
    except ValueError:
        raise BadParam(f"{name}={value!r}: use a date like 2024-08-06") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=zone)
    try:
        if end and len(value) == 10:
            parsed += timedelta(days=1)
        return parsed.astimezone(UTC)
    except OverflowError:
        # The first or last days Python can hold (0001-01-01, 9999-12-31): no bound on that side.
        return None


def with_params(request: Request, **changes: Any) -> str:
    """The current URL's query with some parameters changed (None drops one)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return f"{request.url.path}?{urlencode(params)}" if params else request.url.path


env.globals["with_params"] = with_params
