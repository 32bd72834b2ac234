"""Who may use the pages and how forms are protected: the password/token check, the signed session,
CSRF tokens on every form, read-only mode, and headers that keep the browser strict."""

from __future__ import annotations

import hmac
import ipaddress
import secrets
from collections.abc import Awaitable, Callable

from starlette.datastructures import FormData
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import PlainTextResponse, RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from bot.domain.errors import ConfigError
from bot.web.inputs import MAX_FIELD_CHARS, BadParam, field_problem

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "x-csrf-token"
OPEN_PATHS = ("/login", "/static/")
HEADERS = {
    # Our own files only: no inline script, no framing, no referrer leaking local URLs to t.me.
    "content-security-policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "object-src 'none'; base-uri 'none'; frame-ancestors 'none'; form-action 'self'"
    ),
    "x-content-type-options": "nosniff",
    "x-frame-options": "DENY",
    "referrer-policy": "no-referrer",
}


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the pages on this machine."""
    if host in ("localhost", "ip6-localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, password: str | None) -> None:
    """Refuse to serve beyond this machine without a password (ConfigError, exit code 2)."""
    if not is_loopback(host) and not password:
        raise ConfigError(
            f"refusing to serve on {host} without a password: anyone who reaches it could read the archive",
            key="TELEWATCH_WEB_PASSWORD",
            hint="set TELEWATCH_WEB_PASSWORD in the environment or .env (never in the TOML), "
            "or leave --host at 127.0.0.1",
        )


def csrf_token(request: Request) -> str:
    """This session's CSRF token (created on first use)."""
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 20:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


class Forbidden(Exception):
    """A request the pages refuse (bad CSRF token, a write in read-only mode)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


async def checked_form(request: Request, *, write: bool = True) -> FormData:
    """The posted form once its CSRF token (field or X-CSRF-Token header) matches the session's; a form
    that would change something (`write`) is refused in read-only mode."""
    if write and request.app.state.web.read_only:
        raise Forbidden("this telewatch web runs read-only (--read-only): nothing can be changed")
    try:  # the forms take text only: an upload is a 400
        form = await request.form(max_files=0, max_part_size=FORM_PART_BYTES)
    except HTTPException as e:
        if "exceeded maximum size" not in str(e.detail):
            raise
        # Past what any field within MAX_FIELD_CHARS can take on the wire: the same words as field_problem.
        raise BadParam(
            f"a field is too long (more than {FORM_PART_BYTES // 2**20} MB as sent; at most "
            f"{MAX_FIELD_CHARS:,} characters)"
        ) from None
    sent = request.headers.get(CSRF_HEADER) or form.get(CSRF_FIELD)
    expected = request.session.get("csrf")
    # Bytes: compare_digest refuses str holding non-ASCII (a forged token must be a 403, not a 500).
    if (
        not isinstance(sent, str)
        or not isinstance(expected, str)
        or not hmac.compare_digest(sent.encode(), expected.encode())
    ):
        raise Forbidden("the form's security token is missing or stale; reload the page and try again")
    for name, value in form.multi_items():
        problem = field_problem(name, value) if isinstance(value, str) else "these forms take no files"
        if problem is not None:
            raise BadParam(problem)
    return form


# The form parser's limit per field, in bytes as sent: a field of MAX_FIELD_CHARS characters takes at most
# 12 bytes each percent-encoded (4 UTF-8 bytes, %XX each), 1.2 MB; above that even Cyrillic text several
# times too long reaches field_problem, which names the field and its length.
FORM_PART_BYTES = 4 * 2**20


def password_ok(given: str | None, password: str) -> bool:
    return bool(given) and hmac.compare_digest(str(given).encode(), password.encode())


class GuardMiddleware:
    """Adds the strict headers to every answer; with a password set, lets through only a signed-in session
    or a request carrying `Authorization: Bearer <password>`. Runs inside the session middleware."""

    def __init__(self, app: ASGIApp, password: str | None) -> None:
        self.app = app
        self.password = password

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                for key, value in HEADERS.items():
                    if key.encode() not in present:
                        headers.append((key.encode(), value.encode()))
                message["headers"] = headers
            await send(message)

        request = Request(scope)
        if self.password and not scope["path"].startswith(OPEN_PATHS) and not self._allowed(request):
            response: Response
            if request.headers.get("hx-request"):
                response = PlainTextResponse("signed out", status_code=401, headers={"HX-Redirect": "/login"})
            elif request.method == "GET":
                response = RedirectResponse(f"/login?next={_local_next(request)}", status_code=303)
            else:
                response = PlainTextResponse("sign in first", status_code=401)
            await response(scope, receive, send_with_headers)
            return
        await self.app(scope, receive, send_with_headers)

    def _allowed(self, request: Request) -> bool:
        assert self.password is not None
        auth = request.headers.get("authorization", "")
        if auth.lower().startswith("bearer ") and password_ok(auth[7:].strip(), self.password):
            return True
        return bool(request.session.get("signed_in"))


def _local_next(request: Request) -> str:
    from urllib.parse import quote

    path = request.url.path + (f"?{request.url.query}" if request.url.query else "")
    return quote(path, safe="")


def safe_next(value: str | None) -> str:
    """A redirect target after sign-in: a local path only (never another site)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


Handler = Callable[[Request], Awaitable[Response]]
