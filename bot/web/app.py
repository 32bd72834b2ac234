"""The Starlette application: routes, the session and guard middleware, error pages, the store's lifespan."""

from __future__ import annotations

import asyncio
import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from bot.domain.archive import ArchiveStorage
from bot.domain.errors import StorageError, TelewatchError
from bot.domain.ports import Clock
from bot.web import alerts, channels, charts, posts, rules
from bot.web.inputs import InputGuardMiddleware
from bot.web.pages import STATIC, BadParam, render, state
from bot.web.security import Forbidden, GuardMiddleware, checked_form, password_ok, safe_next
from bot.web.state import WebOptions, WebState

log = logging.getLogger(__name__)

SESSION_COOKIE = "telewatch_session"
SESSION_DAYS = 7


async def login_page(request: Request) -> Response:
    if not state(request).options.password:
        return RedirectResponse("/", status_code=303)
    return render(
        request, "login.html", {"next": safe_next(request.query_params.get("next")), "problem": None}
    )


async def login(request: Request) -> Response:
    web = state(request)
    form = await checked_form(request, write=False)
    target = safe_next(str(form.get("next", "/")))
    password = web.options.password
    if password and password_ok(str(form.get("password", "")), password):
        request.session.clear()
        request.session["signed_in"] = True
        return RedirectResponse(target, status_code=303)
    await asyncio.sleep(1.0)  # slows guessing down; the pages are meant for one desk, not a crowd
    return render(request, "login.html", {"next": target, "problem": "Wrong password."}, status=401)


async def logout(request: Request) -> Response:
    await checked_form(request, write=False)
    request.session.clear()
    return RedirectResponse("/login" if state(request).options.password else "/", status_code=303)


async def bad_param(request: Request, exc: Exception) -> Response:
    return render(request, "error.html", {"title": "Bad request", "message": str(exc)}, 400)


async def forbidden(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, Forbidden)
    return render(request, "error.html", {"title": "Not allowed", "message": exc.message}, exc.status)


async def telewatch_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, TelewatchError)
    status = 503 if isinstance(exc, StorageError) else 400
    message = exc.message + (f" — {exc.hint}" if exc.hint else "")
    return render(request, "error.html", {"title": "Cannot do that", "message": message}, status)


async def http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    title = "Not found" if exc.status_code == 404 else "Error"
    return render(request, "error.html", {"title": title, "message": str(exc.detail)}, exc.status_code)


def routes() -> list[Route | Mount]:
    return [
        Route("/", posts.search, name="search"),
        Route("/search", posts.search),
        Route("/posts/{post_id:rowid}", posts.post_page, name="post"),
        Route("/alerts", alerts.queue, name="alerts"),
        Route("/alerts/{alert_id:rowid}/review", alerts.review, methods=["POST"]),
        Route("/alerts/{alert_id:rowid}/mute", alerts.mute, methods=["POST"]),
        Route("/mutes/end", alerts.unmute, methods=["POST"]),
        Route("/rules", rules.rules_page, name="rules"),
        Route("/rules/test", rules.test_text, methods=["POST"]),
        Route("/rules/new", rules.new_rule),
        Route("/rules/new", rules.new_rule_post, methods=["POST"]),
        Route("/channels", channels.channels_page, name="channels"),
        Route("/channels/{action:str}", channels.change, methods=["POST"]),
        Route("/charts", charts.charts_page, name="charts"),
        Route("/login", login_page),
        Route("/login", login, methods=["POST"]),
        Route("/logout", logout, methods=["POST"]),
        Mount("/static", app=StaticFiles(directory=STATIC), name="static"),
    ]


def create_app(
    options: WebOptions, open_store: Callable[[], Awaitable[ArchiveStorage]], *, clock: Clock | None = None
) -> Starlette:
    """The web app over the store `open_store` opens when the app starts (and the app closes at its end)."""
    web = WebState(options, open_store, clock)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        await web.open()
        try:
            yield
        finally:
            await web.close()

    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=options.session_secret or secrets.token_urlsafe(32),
                session_cookie=SESSION_COOKIE,
                max_age=SESSION_DAYS * 86400,
                same_site="strict",
                https_only=False,  # served on the loopback or behind the desk's own TLS proxy
            ),
            Middleware(GuardMiddleware, password=options.password),
            Middleware(InputGuardMiddleware),
        ],
        exception_handlers={
            BadParam: bad_param,
            Forbidden: forbidden,
            TelewatchError: telewatch_error,
            HTTPException: http_error,
        },
        lifespan=lifespan,
    )
    app.state.web = web
    return app
