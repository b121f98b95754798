"""The web UI: server-rendered pages (Jinja2) over the same registry functions as the API.

Pages work offline (assets ship in the package, no CDN, no inline script or style). Reading
follows the registry's read access: with ``read_access=token`` every page but ``/login`` sends an
anonymous browser to ``/login`` before doing any work, so it learns nothing (no "did you mean",
no versions). Deciding needs a login: a server-side session (:mod:`trustmap.server.sessions`)
whose own CSRF secret every form carries.
"""

from __future__ import annotations

from importlib import resources
from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from trustmap.report.graph import graph_page as viewer_page
from trustmap.server.approvals import approval_to_dict, decide, list_approvals
from trustmap.server.auth import Principal
from trustmap.server.drift import drift_report, service_drift
from trustmap.server.errors import ApiError
from trustmap.server.history import diff, version, version_to_dict, versions
from trustmap.server.layout import Drawing, focus_view, team_overview
from trustmap.server.routes.deps import NAME, RegistryDep, get_registry
from trustmap.server.sessions import COOKIE, SESSION_HOURS, Login, end, find, start
from trustmap.server.state import Snapshot
from trustmap.server.store import Registry
from trustmap.server.views import coverage, find_service, service_view, team_summary

__all__ = ["error_page", "router"]

templates = Jinja2Templates(directory=str(resources.files("trustmap.server") / "templates"))
Filter = Annotated[str | None, Query(pattern=NAME, max_length=63)]
Label = Annotated[str, Path(pattern=NAME, max_length=63)]


class LoginNeeded(Exception):
    """Reads need a login and the browser has none: the app redirects to ``/login``."""

    def __init__(self, path: str) -> None:
        super().__init__(path)
        self.path = path


def _login(request: Request) -> Login | None:
    return find(get_registry(request), request.cookies.get(COOKIE))


def gate(request: Request) -> None:
    """Before any page work: with ``read_access=token``, no login means ``/login``."""
    if request.url.path in ("/login", "/logout"):
        return
    if get_registry(request).settings.read_access == "token" and _login(request) is None:
        raise LoginNeeded(request.url.path)


router = APIRouter(include_in_schema=False, dependencies=[Depends(gate)])


def _page(request: Request, template: str, **context: Any) -> Response:
    login = _login(request)
    return templates.TemplateResponse(
        request,
        template,
        {
            "viewer": login.principal if login else None,
            "csrf": login.csrf if login else "",
            "page": template.split(".")[0],
            **context,
        },
    )


@router.get("/", response_class=HTMLResponse)
def graph_page(
    request: Request, registry: RegistryDep, team: Filter = None, namespace: Filter = None
) -> Response:
    """The organisation graph: teams at a glance, one team or namespace in detail."""
    snapshot = registry.snapshot()
    graph = snapshot.graph
    drawing = _drawing(registry, snapshot, team, namespace)
    teams = sorted({s.team for s in graph.services.values()})
    namespaces = sorted({r.namespace for r in graph.services})
    listed = [
        s
        for r, s in graph.services.items()
        if (not team or s.team == team) and (not namespace or r.namespace == namespace)
    ]
    return _page(
        request,
        "graph.html",
        summary=team_summary(graph),
        snapshot=snapshot,
        drawing=drawing,
        teams=teams,
        namespaces=namespaces,
        team=team,
        namespace=namespace,
        listed=listed[:500],
        total=len(listed),
    )


def _drawing(
    registry: Registry, snapshot: Snapshot, team: str | None, namespace: str | None
) -> Drawing:
    """The laid-out view, computed once per version and filter (layouts cost more than pages)."""
    key = (snapshot.version, snapshot.today.isoformat(), team, namespace)
    found: Drawing | None = registry.drawings.get(key)
    if found is not None:
        return found
    graph = snapshot.graph
    if team:
        caption = f"team {team}: its services, who calls them, whom they call"
        drawing = focus_view(graph, lambda r: graph.services[r].team == team, caption)
    elif namespace and sum(1 for r in graph.services if r.namespace == namespace) <= 300:
        drawing = focus_view(graph, lambda r: r.namespace == namespace, f"namespace {namespace}")
    else:
        drawing = team_overview(graph, namespace)
    registry.drawings.put(key, drawing)
    return drawing


@router.get("/map", response_class=HTMLResponse)
def map_page(registry: RegistryDep) -> Response:
    """The layered, searchable graph viewer (``trustmap graph --format html``'s page, its script
    and style served from ``/static/report``), framed by the graph page; ``?team=``/``?namespace=``
    open it drilled down. Read access is checked by the router's gate like every page."""
    snapshot = registry.snapshot()
    key = (snapshot.version, snapshot.today.isoformat(), "map")
    page: str | None = registry.drawings.get(key)
    if page is None:
        page = viewer_page(snapshot.graph, static_url="/static/report")
        registry.drawings.put(key, page)
    return HTMLResponse(page)


@router.get("/services/{namespace}/{name}", response_class=HTMLResponse)
def service_page(
    request: Request, namespace: Label, name: Label, registry: RegistryDep
) -> Response:
    """One service: interfaces, owners, callers and why, callees, expiry, drift."""
    snapshot = registry.snapshot()
    ref = find_service(snapshot.graph, namespace, name)
    waiting = [
        approval_to_dict(a)
        for a in list_approvals(registry, "pending", None)
        if str(ref) in (a.caller, a.target)
    ]
    drifted = service_drift(drift_report(registry, snapshot), str(ref))
    return _page(
        request,
        "service.html",
        drift=drifted,
        view=service_view(snapshot, ref),
        pending=waiting,
        snapshot=snapshot,
    )


@router.get("/approvals", response_class=HTMLResponse)
def approvals_page(request: Request, registry: RegistryDep) -> Response:
    """Pending requests with approve/reject forms, and recent decisions."""
    pending = [approval_to_dict(a) for a in list_approvals(registry, "pending", None)]
    decided = [
        approval_to_dict(a)
        for a in list_approvals(registry, None, None)
        if a.state in ("approved", "rejected")
    ]
    return _page(request, "approvals.html", pending=pending, decided=decided[-50:][::-1])


@router.post("/approvals/{approval_id}")
async def decide_page(
    request: Request, approval_id: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """A form post from the approvals page: approve or reject as the logged-in owner."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    registry = get_registry(request)
    login = await run_in_threadpool(find, registry, request.cookies.get(COOKIE))
    if login is None:
        raise ApiError(401, "log in with a token of the provider's team to decide")
    _check_csrf(login, form.get("csrf", ""))
    principal = login.principal
    request.state.principal = principal
    action = form.get("action")
    if action not in ("approve", "reject"):
        raise ApiError(422, "action must be approve or reject")
    revision = form.get("revision", "")
    await run_in_threadpool(
        decide,
        registry,
        principal,
        approval_id,
        action == "approve",
        form.get("comment", "")[:2000].replace("\x00", ""),
        int(revision) if revision.isdigit() and len(revision) < 10 else None,
    )
    return RedirectResponse("/approvals", status_code=303)


def _check_csrf(login: Login, sent: str) -> None:
    if not login.csrf_matches(sent):
        raise ApiError(403, "the form is stale (CSRF check failed); reload the page and try again")


@router.get("/versions", response_class=HTMLResponse)
def versions_page(
    request: Request,
    registry: RegistryDep,
    before: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """Version history, newest first."""
    rows = [version_to_dict(v) for v in versions(registry, 100, before, None)]
    return _page(request, "versions.html", versions=rows)


@router.get("/versions/diff", response_class=HTMLResponse)
def diff_page(
    request: Request,
    registry: RegistryDep,
    base: Annotated[int, Query(ge=0, le=2**31 - 1)],
    head: Annotated[int, Query(ge=0, le=2**31 - 1)],
) -> Response:
    """Flows opened and closed between two versions."""
    return _page(request, "diff.html", diff=diff(registry, base, head))


@router.get("/versions/{number}", response_class=HTMLResponse)
def version_page(
    request: Request, registry: RegistryDep, number: Annotated[int, Path(ge=1, le=2**31 - 1)]
) -> Response:
    """One version and what it changed."""
    row, changes, paths = version(registry, number)
    return _page(
        request, "version.html", version=version_to_dict(row), changes=changes, paths=paths
    )


@router.get("/coverage", response_class=HTMLResponse)
def coverage_page(request: Request, registry: RegistryDep) -> Response:
    """Declaration coverage and enforcement mode per namespace."""
    snapshot = registry.snapshot()
    return _page(
        request,
        "coverage.html",
        coverage=coverage(snapshot.graph),
        snapshot=snapshot,
        observed=_observed(registry, snapshot),
        flows_db=registry.settings.flows_db,
    )


def _observed(registry: Registry, snapshot: Snapshot) -> dict[str, Any] | str | None:
    """Observed-traffic coverage from the flow database, why it cannot be read, or ``None``."""
    try:
        report = drift_report(registry, snapshot)
    except ApiError as error:
        return error.message
    return report["coverage"] if report else None


@router.get("/login", response_class=HTMLResponse)
def login_page(request: Request, next: Annotated[str, Query(max_length=300)] = "/") -> Response:
    """A form to give the browser a token."""
    return templates.TemplateResponse(
        request,
        "login.html",
        {"viewer": _maybe_viewer(request), "next": _local(next), "page": "login", "error": None},
    )


def _maybe_viewer(request: Request) -> Principal | None:
    """Who is logged in, for pages that render whatever happens (login, errors)."""
    try:
        login = _login(request)
    except Exception:  # no database, a broken session row: nobody, the page must still render
        return None
    return login.principal if login else None


@router.post("/login")
async def login(request: Request) -> Response:
    """Check the token and keep it in an HttpOnly cookie."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    token, target = form.get("token", ""), _local(form.get("next", "/"))
    registry = get_registry(request)
    principal = None if len(token) > 300 else await run_in_threadpool(registry.authenticate, token)
    if principal is None:
        await run_in_threadpool(
            registry.deny, "anonymous", "POST /login", 401, "unknown or revoked token"
        )
        return templates.TemplateResponse(
            request,
            "login.html",
            {"viewer": None, "next": target, "page": "login", "error": "unknown or revoked token"},
            status_code=401,
        )
    session_id = await run_in_threadpool(start, registry, principal)
    response = RedirectResponse(target, status_code=303)
    response.set_cookie(
        COOKIE,
        session_id,
        max_age=SESSION_HOURS * 3600,
        path="/",
        httponly=True,
        samesite="strict",
        secure=True,
    )
    return response


@router.get("/logout", response_class=HTMLResponse)
def logout_page(request: Request) -> Response:
    """A button that ends the session (a link alone must not change anything)."""
    return _page(request, "logout.html")


@router.post("/logout")
async def logout(request: Request) -> Response:
    """End the session on the server and forget the cookie."""
    form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
    registry = get_registry(request)
    session_id = request.cookies.get(COOKIE)
    login = await run_in_threadpool(find, registry, session_id)
    if login is not None:
        _check_csrf(login, form.get("csrf", ""))
        await run_in_threadpool(end, registry, session_id)
    response = RedirectResponse("/", status_code=303)
    response.delete_cookie(COOKIE, path="/", secure=True, httponly=True, samesite="strict")
    return response


def _local(target: str) -> str:
    return target if target.startswith("/") and not target.startswith("//") else "/"


def error_page(request: Request, status: int, title: str, message: str) -> Response:
    """An error as an HTML page, for people browsing the UI (still saying who is logged in)."""
    context = {"page": "error", "status": status, "title": title, "message": message}
    return templates.TemplateResponse(
        request, "error.html", {"viewer": _maybe_viewer(request), **context}, status_code=status
    )
