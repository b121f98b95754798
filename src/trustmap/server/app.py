"""The registry's web application: ``create_app(settings)`` builds a FastAPI app (API + web UI).

Nothing happens at import time; each app owns its :class:`~trustmap.server.store.Registry`
(database, graph cache). Every error leaves as JSON with a 4xx status; a 500 means a bug.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any
from urllib.parse import quote, urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from pydantic import ValidationError
from sqlalchemy.exc import InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustmap.report.graph import STATIC_DIR as REPORT_STATIC
from trustmap.server.errors import TITLES, ApiError, documented_errors, error_body
from trustmap.server.routes import (
    approvals,
    audit,
    declarations,
    graph,
    policies,
    tokens,
    transfers,
    ui,
    versions,
)
from trustmap.server.settings import Settings
from trustmap.server.store import Registry
from trustmap.version import __version__

__all__ = ["DatabaseUnreachable", "create_app", "redact", "serve_app"]

log = logging.getLogger("trustmap.server")


class DatabaseUnreachable(RuntimeError):
    """The registry's database cannot be reached at start-up (message: one line)."""


def create_app(settings: Settings | None = None) -> FastAPI:
    """A registry app for ``settings`` (default: read from ``TRUSTMAP_*`` environment variables).

    Raises:
        DatabaseUnreachable: the database does not answer (or cannot be migrated).
    """
    settings = settings or Settings()
    try:
        registry = Registry(settings)
        registry.database.ping()
    except (*OUTAGE, OSError) as error:
        raise DatabaseUnreachable(
            f"cannot reach the registry database {redact(settings.database_url)}: "
            f"{_first_line(error)}"
        ) from None

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        yield
        registry.close()

    app = FastAPI(
        title="trustmap registry",
        version=__version__,
        description="The living organisation graph: teams push declarations, owners approve, "
        'everyone reads. Errors are JSON: {"error": {status, title, message, diagnostics}}.',
        lifespan=lifespan,
        responses=documented_errors(),
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the UI must work offline
        redoc_url=None,
    )
    app.state.registry = registry
    for module in (declarations, graph, approvals, versions, tokens, audit, policies, transfers):
        app.include_router(module.router)
    app.include_router(ui.router)
    app.mount(  # the layered graph viewer (report/static): before /static, which would shadow it
        "/static/report", StaticFiles(directory=str(REPORT_STATIC)), name="report-static"
    )
    app.mount(
        "/static",
        StaticFiles(directory=str(resources.files("trustmap.server") / "static")),
        name="static",
    )
    app.get("/api/v1/health", tags=["health"], summary="Liveness")(_health)
    app.get(
        "/api/v1/ready",
        tags=["health"],
        summary="Readiness: the database answers",
        responses={503: {"description": "the database does not answer; retry later"}},
    )(_ready)
    _handlers(app, registry)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    app.add_middleware(SameOrigin)
    app.add_middleware(SecurityHeaders)
    return app


def _health() -> dict[str, str]:
    """Always ``ok`` while the process serves requests."""
    return {"status": "ok", "version": __version__}


def serve_app() -> FastAPI:
    """The app ``trustmap serve`` runs (a uvicorn factory): an unreachable database prints one
    line and exits 2 instead of a traceback."""
    try:
        app = create_app()
    except DatabaseUnreachable as error:
        print(f"error: {error}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'settings'}: {e['msg']}"
            for e in error.errors()
        )
        print(f"error: invalid registry settings: {problems}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
    return app


OUTAGE = (OperationalError, InterfaceError, SATimeoutError)
"""Errors meaning the database does not answer (down, unreachable, locked, pool exhausted)."""
RETRY_AFTER = "5"


def _first_line(error: BaseException) -> str:
    text = str(getattr(error, "orig", None) or error).strip()
    return text.splitlines()[0] if text else type(error).__name__


def redact(url: str) -> str:
    """``url`` without its credentials."""
    scheme, sep, rest = url.partition("://")
    return scheme + sep + ("***@" + rest.split("@", 1)[1] if "@" in rest else rest)


def _ready(request: Request) -> JSONResponse:
    """``ready`` when the database answers, else 503 with ``Retry-After``."""
    registry: Registry = request.app.state.registry
    try:
        registry.database.ping()
    except OUTAGE as error:
        return JSONResponse(
            error_body(503, f"the database does not answer: {_first_line(error)}"),
            status_code=503,
            headers={"Retry-After": RETRY_AFTER},
        )
    return JSONResponse({"status": "ready", "version": __version__})


def _wants_html(request: Request) -> bool:
    return not request.url.path.startswith("/api/") and "text/html" in request.headers.get(
        "accept", ""
    )


def _respond(
    request: Request,
    status: int,
    message: str,
    body: dict[str, Any],
    headers: dict[str, str] | None,
) -> Response:
    if _wants_html(request):
        page = ui.error_page(request, status, TITLES.get(status, "error"), message)
        page.headers.update(headers or {})
        return page
    return JSONResponse(body, status_code=status, headers=headers)


def _handlers(app: FastAPI, registry: Registry) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, error: ApiError) -> Response:
        if error.status in (401, 403):
            await run_in_threadpool(_deny, registry, request, error)
        body = error_body(error.status, error.message, error.diagnostics)
        return _respond(request, error.status, error.message, body, error.headers)

    @app.exception_handler(RequestValidationError)
    async def invalid(request: Request, error: RequestValidationError) -> Response:
        fields = [
            {"field": ".".join(str(p) for p in e.get("loc", ())), "problem": str(e.get("msg", ""))}
            for e in error.errors()
        ]
        message = (
            "; ".join(f"{f['field']}: {f['problem']}" for f in fields[:5]) or "invalid request"
        )
        return _respond(request, 422, message, error_body(422, message, fields=fields), None)

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, error: HTTPException) -> Response:
        message = str(error.detail)
        headers = getattr(error, "headers", None)
        return _respond(
            request, error.status_code, message, error_body(error.status_code, message), headers
        )

    @app.exception_handler(OperationalError)
    @app.exception_handler(InterfaceError)
    @app.exception_handler(SATimeoutError)
    async def outage(request: Request, error: Exception) -> Response:
        log.error("database unavailable on %s %s: %s", request.method, request.url.path, error)
        message = "the registry's database does not answer; retry later"
        headers = {"Retry-After": RETRY_AFTER}
        return _respond(request, 503, message, error_body(503, message), headers)

    @app.exception_handler(ui.LoginNeeded)
    async def login_needed(_request: Request, error: ui.LoginNeeded) -> Response:
        return RedirectResponse(f"/login?next={quote(error.path)}", status_code=303)

    @app.exception_handler(Exception)
    async def crash(request: Request, error: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return JSONResponse(
            error_body(500, "internal error; the registry logged the details"), status_code=500
        )


def _deny(registry: Registry, request: Request, error: ApiError) -> None:
    principal = getattr(request.state, "principal", None)
    actor = principal.actor if principal is not None else "anonymous"
    subject = error.subject or f"{request.method} {request.url.path}"
    log.warning("denied %s: %s (%s)", actor, subject, error.message)
    try:
        registry.deny(actor, subject, error.status, error.message)
    except Exception:  # the refusal stands even when it cannot be logged (lock held, outage)
        log.exception("could not write the denial to the audit log")


class BodyLimit:
    """Refuses request bodies over ``limit`` bytes with 413, before the app reads them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers", ())).get(b"content-length")
        if declared is not None and (not declared.isdigit() or int(declared) > self.limit):
            await self._refuse(send)
            return
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message]), send)
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > self.limit:
                await self._refuse(send)
                return
        await self.app(
            scope,
            _replay([{"type": "http.request", "body": body, "more_body": False}], receive),
            send,
        )

    async def _refuse(self, send: Send) -> None:
        response = JSONResponse(
            error_body(413, f"request body over the limit of {self.limit:,} bytes"), status_code=413
        )
        await response({"type": "http"}, _nothing, send)


def _replay(messages: list[Message], then: Receive | None = None) -> Receive:
    queue = list(messages)

    async def receive() -> Message:
        if queue:
            return queue.pop(0)
        if then is not None:
            return await then()
        return {"type": "http.disconnect"}

    return receive


async def _nothing() -> Message:
    return {"type": "http.disconnect"}


HEADERS = [
    (
        b"content-security-policy",
        b"default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        b"connect-src 'self'; form-action 'self'; frame-src 'self'; frame-ancestors 'self'; "
        b"base-uri 'none'",
    ),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
    (b"x-frame-options", b"SAMEORIGIN"),
    (b"cross-origin-opener-policy", b"same-origin"),
]
"""Sent with every response: no inline or foreign script or style, framing only by the registry's
own pages (the graph page frames the viewer at ``/map``), no sniffing,
no referrer to other sites (URLs name services; ``no-referrer`` would make form posts send
``Origin: null``)."""


class SecurityHeaders:
    """Adds :data:`HEADERS` to every response, errors and static files included."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name for name, _ in message.get("headers", [])}
                extra = [(n, v) for n, v in HEADERS if n not in names]
                message = {**message, "headers": [*message.get("headers", []), *extra]}
            await send(message)

        await self.app(scope, receive, with_headers)


_SAFE = frozenset({"GET", "HEAD", "OPTIONS"})


class SameOrigin:
    """Refuses (403) a state-changing request a browser sends from another origin: another
    site, or another port of this host (``Sec-Fetch-Site: same-site``). Browsers set
    ``Sec-Fetch-Site`` themselves (pages cannot); without it, ``Origin`` must be this origin.
    Clients that send neither (the CLI, scripts) are not browsers and pass."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in _SAFE:
            await self.app(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        site = headers.get("sec-fetch-site")
        origin = headers.get("origin")
        if (site is not None and site != "same-origin") or (
            site is None
            and origin is not None
            and not _same_origin(origin, scope, headers.get("host", ""))
        ):
            response = JSONResponse(
                error_body(403, "cross-origin request refused: use the registry's own pages"),
                status_code=403,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _same_origin(origin: str, scope: Scope, host: str) -> bool:
    parts = urlsplit(origin)
    return parts.scheme == scope.get("scheme", "http") and parts.netloc == host
