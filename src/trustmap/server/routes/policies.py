"""``/api/v1/policies/{target}``: the merged graph compiled for one enforcement target.

Only effective edges are compiled, so a dependency pending approval is never in a policy.
Results are cached on the app's registry per (version, day, target, environment): compiling
is deterministic.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import PlainTextResponse

from trustmap import api
from trustmap.errors import UsageError
from trustmap.report.diagnostics import diagnostic_to_dict
from trustmap.server.errors import ApiError
from trustmap.server.routes.deps import NAME, Reader, RegistryDep

if TYPE_CHECKING:
    from trustmap.dialects import CompileResult

__all__ = ["router"]

router = APIRouter(prefix="/api/v1", tags=["policies"])


@router.get("/policies", summary="Compile targets")
def targets(_: Reader) -> dict[str, Any]:
    """The targets policies can be compiled for."""
    return {"targets": sorted(api.compile_target_names())}


@router.get(
    "/policies/{target}",
    summary="Compiled policies for a target",
    responses={200: {"content": {"application/yaml": {}, "application/json": {}}}},
)
def policies(
    request: Request,
    target: Annotated[str, Path(max_length=40, pattern="^[a-z]+$")],
    registry: RegistryDep,
    _: Reader,
    environment: Annotated[str | None, Query(pattern=NAME, max_length=63)] = None,
    format: Annotated[str, Query(pattern="^(yaml|json)$")] = "yaml",
) -> Any:
    """The graph compiled for ``target`` (``yaml``: the manifests; ``json``: objects + TM3xx)."""
    snapshot = registry.snapshot()
    key = (snapshot.version, snapshot.today.isoformat(), target, environment)
    result: CompileResult | None = registry.compiled.get(key)
    if result is None:
        try:
            result = api.compile(snapshot.graph, target, environment)
        except UsageError as error:
            raise ApiError(404, str(error)) from None
        registry.compiled.put(key, result)
    if format == "json":
        return {
            "version": snapshot.version,
            "target": target,
            "objects": [m for _, m in result.objects],
            "diagnostics": [diagnostic_to_dict(d) for d in result.diagnostics],
        }
    return PlainTextResponse(
        api.compiled_yaml(result),
        media_type="application/yaml",
        headers={"ETag": f'"v{snapshot.version}-{target}"'},
    )
