"""pydantic validation errors → located TM1xx diagnostics with "did you mean" hints."""

from __future__ import annotations

from typing import Any, Protocol

from pydantic import BaseModel
from pydantic_core import ErrorDetails

from trustmap.diagnostics import Diagnostic, Span, diagnostic
from trustmap.names import closest, label_problem, parse_service_ref

__all__ = ["Located", "describe", "errors_to_diagnostics", "field_name"]

Path = tuple[str | int, ...]


class Located(Protocol):
    """What the schema needs of a loaded document (see ``trustmap.loader.Document``)."""

    @property
    def file(self) -> str: ...

    @property
    def data(self) -> Any: ...

    def span(self, path: Path = (), *, key: bool = False) -> Span: ...


_TYPE_NAMES = {
    "int_type": "an integer",
    "string_type": "a string",
    "bool_type": "true or false",
    "list_type": "a list",
    "dict_type": "a mapping",
    "model_type": "a mapping",
    "model_attributes_type": "a mapping",
    "date_type": "a date (YYYY-MM-DD)",
    "float_type": "a number",
    "none_required": "nothing",
}
_VALUE_CODES = {
    "dns1123": "TM114",
    "service_ref": "TM115",
    "host_url": "TM226",
    "host_port": "TM227",
    "host_ip": "TM228",
    "host_name": "TM229",
}
_BOUNDS = {
    "greater_than_equal": "must be at least {ge}, got {got}",
    "less_than_equal": "must be at most {le}, got {got}",
    "too_short": "needs at least one entry, got none",
    "string_too_short": "must not be empty",
}


def describe(value: Any) -> str:
    """Name a YAML value the way a user wrote it: ``string "8080"``, ``boolean false``."""
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if value is None:
        return "null"
    if isinstance(value, str):
        return f'string "{value}"'
    if isinstance(value, int | float):
        return f"number {value}"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    return type(value).__name__


def errors_to_diagnostics(
    errors: list[ErrorDetails], doc: Located, model: type[BaseModel]
) -> list[Diagnostic]:
    """Turn each pydantic error into one diagnostic, located at the offending key or value."""
    found: dict[Path, Diagnostic] = {}
    for error in errors:
        path = _path(error["loc"])
        item = _one(error, path, doc, model)
        if item is not None and path not in found:
            found[path] = item
    return list(found.values())


def _path(loc: tuple[int | str, ...]) -> Path:
    # pydantic adds the union member ('int', 'PortSpecDoc') and validator names to loc.
    return tuple(p for p in loc if isinstance(p, int) or not _is_internal(p))


def _is_internal(part: str) -> bool:
    return (
        part[:1].isupper()
        or part in {"int", "str", "constrained-int", "function-after"}
        or ("[" in part)
    )


def field_name(path: Path) -> str:
    """``spec.interfaces[0].port`` for a path; ``document`` for the root."""
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else str(part))
    return text or "document"


def _one(
    error: ErrorDetails, path: Path, doc: Located, model: type[BaseModel]
) -> Diagnostic | None:
    kind = error["type"]
    where = field_name(path)
    if kind == "extra_forbidden":
        return _unknown_field(path, doc, model)
    if kind == "missing":
        parent = field_name(path[:-1]) if path[:-1] else ""
        at = f" in '{parent}'" if parent else ""
        return diagnostic(
            "TM112",
            doc.span(path[:-1]),
            f"missing required field '{path[-1]}'{at}",
            f"add '{path[-1]}:' (see `trustmap schema`)",
        )
    if kind in _TYPE_NAMES or kind.endswith("_type"):
        return _wrong_type(error, path, where, doc)
    if kind == "literal_error":
        return _bad_choice(error, path, where, doc)
    if kind == "string_pattern_mismatch":
        return _bad_name(error, path, where, doc)
    code = _VALUE_CODES.get(kind, "TM113")
    message = _BOUNDS.get(kind, error["msg"].removeprefix("Value error, ")).format(
        **(error.get("ctx") or {}), got=describe(error.get("input"))
    )
    return diagnostic(code, doc.span(path), f"'{where}': {message}", _value_hint(kind, error, path))


def _bad_name(error: ErrorDetails, path: Path, where: str, doc: Located) -> Diagnostic:
    """A DNS-1123 label or a namespace/name reference that does not match its pattern."""
    value = str(error.get("input"))
    if "/" in str((error.get("ctx") or {}).get("pattern", "")):
        parts = parse_service_ref(value)
        if parts is None:
            return diagnostic(
                "TM115",
                doc.span(path),
                f"'{where}': '{value}' is not a service reference of the form namespace/name",
                "write the target as namespace/name, e.g. shop/checkout",
            )
        bad = next((p for p in parts[1:] if label_problem(p)), value)
        problem = label_problem(bad) or "is not a valid name"
    else:
        bad, problem = value, label_problem(value) or "is not a valid name"
    return diagnostic(
        "TM114",
        doc.span(path),
        f"'{where}': '{bad}' is not a DNS-1123 label: it {problem}",
        "use lower-case letters, digits and '-', at most 63 characters",
    )


def _unknown_field(path: Path, doc: Located, model: type[BaseModel]) -> Diagnostic:
    allowed = _allowed_keys(model, path[:-1], doc.data)
    name = str(path[-1])
    guess = closest(name, allowed)
    suffix = f" (did you mean '{guess}'?)" if guess else ""
    hint = f"allowed here: {', '.join(sorted(allowed))}" if allowed else "remove the field"
    return diagnostic("TM110", doc.span(path, key=True), f"unknown field '{name}'{suffix}", hint)


def _wrong_type(error: ErrorDetails, path: Path, where: str, doc: Located) -> Diagnostic:
    wanted = _TYPE_NAMES.get(error["type"], error["type"].removesuffix("_type"))
    value = error.get("input")
    hint = "fix the value's type"
    if isinstance(value, str) and wanted == "an integer":
        hint = (
            f"remove the quotes: {path[-1]}: {value}"
            if isinstance(path[-1], str)
            else (f"remove the quotes: {value}")
        )
    elif isinstance(value, bool) and wanted == "a string":
        hint = "YAML reads unquoted yes/no/on/off/true/false as booleans; quote the value"
    elif isinstance(value, str) and wanted == "true or false":
        hint = "write true or false without quotes"
    return diagnostic(
        "TM111", doc.span(path), f"'{where}' must be {wanted}, got {describe(value)}", hint
    )


def _bad_choice(error: ErrorDetails, path: Path, where: str, doc: Located) -> Diagnostic:
    expected = str((error.get("ctx") or {}).get("expected", "")).replace("'", "")
    options = [o.strip() for o in expected.replace(" or ", ",").split(",") if o.strip()]
    value = error.get("input")
    guess = None
    if isinstance(value, str):
        same = next((o for o in options if o.lower() == value.lower()), None)
        guess = same or closest(value, options)
    hint = f"use one of: {', '.join(options)}"
    if isinstance(value, bool):
        hint = f"YAML reads unquoted yes/no/on/off as booleans; {hint}"
    suffix = f" (did you mean '{guess}'?)" if guess else ""
    code = "TM108" if path == ("apiVersion",) else "TM113"
    return diagnostic(
        code,
        doc.span(path),
        f"'{where}' must be one of {', '.join(options)}, got {describe(value)}{suffix}",
        hint,
    )


def _value_hint(kind: str, error: ErrorDetails, path: Path) -> str | None:
    if kind == "dns1123":
        return "use lower-case letters, digits and '-', at most 63 characters"
    if kind == "service_ref":
        return "write the target as namespace/name, e.g. shop/checkout"
    if kind == "cidr_host_bits":
        return f"write {(error.get('ctx') or {}).get('network')}"
    if kind in {"greater_than_equal", "less_than_equal"}:
        is_port = any(isinstance(p, str) and "port" in p.lower() for p in path)
        return "ports are 1-65535" if is_port else "use a value in the allowed range"
    if kind.startswith("host_"):
        return _host_hint(kind, error.get("ctx") or {})
    if kind == "one_of":
        return "split the entry into one entry per destination"
    if kind == "too_short":
        return "give at least one entry"
    if kind == "date_format":
        return "write the date as YYYY-MM-DD, e.g. 2027-06-30"
    if kind == "vcs_handle":
        return "write the team's handle on the forge with its '@', e.g. @acme/payments"
    return None


def _host_hint(kind: str, ctx: dict[str, Any]) -> str:
    if kind == "host_url":
        return f"write only the host name: host: {ctx.get('bare')} (and put the port in ports:)"
    if kind == "host_port":
        return f"put the port in ports: host: {ctx.get('bare')} with ports: [{ctx.get('port')}]"
    if kind == "host_ip":
        address = str(ctx.get("address"))
        bits = 128 if ":" in address else 32
        return f"use cidr: for addresses: cidr: {address}/{bits}"
    return (
        "write a DNS name such as api.example.com, or '*.example.com' for its subdomains "
        "(letters, digits, '-' and '.'; no spaces)"
    )


def _allowed_keys(model: type[BaseModel], path: Path, data: Any) -> list[str]:
    """Field names (aliases) allowed at ``path``, by walking the models along the data."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        field = _field_by_alias(current, part)
        if field is None:
            return []
        current = _model_in(field.annotation)
        if current is None:
            return []
    return [f.alias or name for name, f in current.model_fields.items()]


def _field_by_alias(model: type[BaseModel], alias: str) -> Any:
    return next((f for n, f in model.model_fields.items() if (f.alias or n) == alias), None)


def _model_in(annotation: Any) -> type[BaseModel] | None:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in getattr(annotation, "__args__", ()):
        found = _model_in(arg)
        if found is not None:
            return found
    return None
