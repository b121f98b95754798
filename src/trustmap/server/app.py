"""The registry's web application: ``create_app(settings)`` builds a FastAPI app (API + web UI).

Nothing happens at import time; each app owns its :class:`~trustmap.server.store.Registry`
(database, graph cache). Every error leaves as JSON with a 4xx status; a 500 means a bug.
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from importlib import resources
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from trustmap.report.graph import STATIC_DIR as REPORT_STATIC
from trustmap.server.errors import TITLES, ApiError, error_body
from trustmap.server.routes import (
    approvals,
    audit,
    declarations,
    graph,
    policies,
    tokens,
    ui,
    versions,
)
from trustmap.server.settings import Settings
from trustmap.server.store import Registry
from trustmap.version import __version__

__all__ = ["create_app"]

log = logging.getLogger("trustmap.server")


def create_app(settings: Settings | None = None) -> FastAPI:
    """A registry app for ``settings`` (default: read from ``TRUSTMAP_*`` environment variables)."""
    settings = settings or Settings()
    registry = Registry(settings)

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
        docs_url=None,  # Swagger UI and ReDoc load from a CDN; the UI must work offline
        redoc_url=None,
    )
    app.state.registry = registry
    for module in (declarations, graph, approvals, versions, tokens, audit, policies):
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
    _handlers(app, registry)
    app.add_middleware(BodyLimit, limit=settings.max_request_bytes)
    return app


def _health() -> dict[str, str]:
    """Always ``ok`` while the process serves requests."""
    return {"status": "ok", "version": __version__}


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
        return ui.error_page(request, status, TITLES.get(status, "error"), message)
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
    registry.deny(actor, subject, error.status, error.message)


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
