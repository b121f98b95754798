"""``/api/v1/teams``: each team's declarations; pull (GET) and push (PUT, whole set, atomic)."""

from __future__ import annotations

from hashlib import sha256
from typing import Annotated, Any

from fastapi import APIRouter, Header, Path, Query, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator

from trustmap.report.diagnostics import diagnostic_to_dict
from trustmap.server.approvals import approval_to_dict, list_approvals
from trustmap.server.errors import ApiError
from trustmap.server.history import team_files
from trustmap.server.push import push
from trustmap.server.routes.deps import NAME, Reader, RegistryDep, Writer
from trustmap.server.store import etag_for
from trustmap.server.writeback import approved_entries, with_approvals, with_consumers

__all__ = ["FileIn", "PushIn", "clean_text", "router"]

router = APIRouter(prefix="/api/v1", tags=["declarations"])
Team = Annotated[str, Path(pattern=NAME, max_length=63, description="Team (push scope) name")]


def clean_text(value: str) -> str:
    """Reject text a database cannot store: NUL characters and lone surrogates."""
    if "\x00" in value:
        raise ValueError("must not contain NUL characters")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError("must be valid Unicode text (no lone surrogates)") from None
    return value


class FileIn(BaseModel):
    """One declaration file."""

    model_config = ConfigDict(extra="forbid", strict=True)
    path: str = Field(
        min_length=1, max_length=512, description="Relative path, e.g. services/checkout.yaml"
    )
    content: str = Field(description="The file's YAML text")

    _clean = field_validator("path", "content")(clean_text)


class PushIn(BaseModel):
    """A team's whole set of declaration files."""

    model_config = ConfigDict(extra="forbid", strict=True)
    files: list[FileIn] = Field(description="Every file of the team; files left out are deleted")
    message: str = Field(default="", max_length=2000, description="Why (shown in the history)")

    _clean = field_validator("message")(clean_text)


@router.get("/teams", summary="Push scopes with their versions")
def list_teams(registry: RegistryDep, _: Reader) -> dict[str, Any]:
    """Every team that pushed, with its current version and ETag, and the declared teams."""
    snapshot = registry.snapshot()
    heads = registry.team_heads()
    names = sorted(set(heads) | set(snapshot.graph.teams))
    return {"teams": [_team(snapshot.graph.teams.get(n), n, heads.get(n, 0)) for n in names]}


def _team(team: Any, name: str, version: int) -> dict[str, Any]:
    return {
        "name": name,
        "version": version,
        "etag": etag_for(name, version),
        "declared": team is not None,
        "owners": list(team.owners) if team else [],
        "namespaces": list(team.namespaces) if team else [],
    }


@router.get("/teams/{team}/declarations", summary="Pull a team's files")
def pull(
    team: Team,
    registry: RegistryDep,
    response: Response,
    _: Reader,
    version: Annotated[
        int | None, Query(ge=0, le=2**31 - 1, description="As of this version")
    ] = None,
    raw: Annotated[
        bool, Query(description="Exactly as pushed: no approvals written in (for auditors)")
    ] = False,
) -> dict[str, Any]:
    """The team's files (latest, or as of ``version``); the ETag goes into the next push's If-Match."""
    number, files = team_files(registry, team, version)
    current = registry.team_version(team)
    response.headers["ETag"] = etag_for(team, current)
    latest = number == current and not raw
    approvers = approved_entries(registry.snapshot().graph, team) if latest else {}
    consents = _consents(registry, team) if latest else {}
    return {
        "team": team,
        "version": number,
        "etag": etag_for(team, current),
        "files": [_pulled(team, f, approvers.get(f.path, {}), consents) for f in files],
    }


def _consents(registry: Any, team: str) -> dict[tuple[str, str], list[str]]:
    """Approved callers of ``team``'s interfaces (whose ask the approval covers)."""
    found: dict[tuple[str, str], list[str]] = {}
    for row in list_approvals(registry, "approved", team):
        if row.provider_team == team:
            found.setdefault((row.target, row.interface), []).append(row.caller)
    return found


def _pulled(
    team: str,
    file: Any,
    approvers: dict[tuple[int, int], str],
    consents: dict[tuple[str, str], list[str]],
) -> dict[str, Any]:
    """A stored file as pulled, approvals written in; ``sha256`` is of the bytes returned."""
    content = with_approvals(team, file.path, file.content, approvers)
    content = with_consumers(team, file.path, content, consents)
    digest = file.sha256 if content == file.content else sha256(content.encode()).hexdigest()
    return {"path": file.path, "sha256": digest, "content": content}


@router.put(
    "/teams/{team}/declarations",
    summary="Push a team's files (all or nothing)",
    responses={
        412: {"description": "If-Match is stale"},
        422: {"description": "errors in the files"},
        428: {"description": "If-Match missing"},
        403: {"description": "outside the team's scope"},
    },
)
def push_declarations(
    team: Team,
    body: PushIn,
    registry: RegistryDep,
    by: Writer,
    response: Response,
    if_match: Annotated[str | None, Header(max_length=300)] = None,
) -> dict[str, Any]:
    """Replace the team's declarations; needs ``If-Match`` with the ETag from the last pull."""
    if len(body.files) > registry.settings.max_files:
        raise ApiError(
            413, f"{len(body.files)} files in one push; the limit is {registry.settings.max_files}"
        )
    outcome = push(
        registry, by, team, [(f.path, f.content) for f in body.files], body.message, if_match
    )
    response.headers["ETag"] = outcome.etag
    return {
        "team": team,
        "version": outcome.version,
        "etag": outcome.etag,
        "unchanged": outcome.unchanged,
        "opened": outcome.opened,
        "closed": outcome.closed,
        "pending": [approval_to_dict(a) for a in outcome.pending],
        "diagnostics": [diagnostic_to_dict(d) for d in outcome.findings],
        "introduced": [diagnostic_to_dict(d) for d in outcome.introduced],
    }
