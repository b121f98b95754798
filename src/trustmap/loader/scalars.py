"""YAML 1.1 scalar resolution, as Kubernetes tooling does it, so ``no`` and ``8080`` are *not* strings.

trustmap keeps YAML's implicit typing and then validates strictly: ``exposure: no`` arrives as the
boolean ``False`` and is rejected with a hint to quote it, instead of being silently coerced.
"""

from __future__ import annotations

from typing import Any

import yaml

__all__ = ["NUMERIC_START", "TYPED_WORDS", "ScalarError", "resolve_scalar"]

_RESOLVER = yaml.resolver.Resolver()
_CONSTRUCTOR = yaml.SafeLoader("")
# Plain scalars starting with a digit, sign or dot may be numbers or timestamps.
_NUMERIC_START = frozenset("-+0123456789.")
_WORDS: dict[str, Any] = {"": None, "~": None, "<<": "<<"}
for _word in ("null", "Null", "NULL"):
    _WORDS[_word] = None
for _truth, _words in (
    (True, "yes Yes YES true True TRUE on On ON"),
    (False, "no No NO false False FALSE off Off OFF"),
):
    for _word in _words.split():
        _WORDS[_word] = _truth
NUMERIC_START = _NUMERIC_START
"""A plain scalar not starting with one of these, and not one of :data:`TYPED_WORDS`, is a string."""
TYPED_WORDS = frozenset(_WORDS)
"""Plain scalars that are null, booleans or the merge key rather than strings."""
_KNOWN_TAGS = {
    "tag:yaml.org,2002:str",
    "tag:yaml.org,2002:int",
    "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool",
    "tag:yaml.org,2002:null",
    "tag:yaml.org,2002:timestamp",
}


class ScalarError(ValueError):
    """A scalar whose tag is unknown or whose text does not fit its explicit tag."""


def resolve_scalar(value: str, tag: str | None, plain: bool) -> Any:
    """Turn one scalar event into a Python value.

    Args:
        value: the scalar's text.
        tag: an explicit tag (``!!int``), or ``None``/``"!"`` when implicit.
        plain: whether the scalar was unquoted (only plain scalars are implicitly typed).

    Raises:
        ScalarError: for an unknown tag or text that does not fit the explicit tag.
    """
    if tag is None or tag == "!":
        if not plain:
            return value
        if value in _WORDS:
            return _WORDS[value]
        if not value or value[0] not in _NUMERIC_START:
            return value
        implicit: str = _RESOLVER.resolve(  # type: ignore[no-untyped-call]
            yaml.ScalarNode, value, (True, False)
        )
        try:
            return _construct(value, implicit)
        except ScalarError:
            return value  # looks like a number or date but is not one: the schema will say why
    return _construct(value, tag)


def _construct(value: str, tag: str) -> Any:
    if tag == "tag:yaml.org,2002:str":
        return value
    if tag not in _KNOWN_TAGS:
        raise ScalarError(f"unknown tag '{tag}'")
    try:
        return _CONSTRUCTOR.construct_object(yaml.ScalarNode(tag, value), deep=True)
    except (yaml.YAMLError, ValueError) as error:
        raise ScalarError(f"'{value}' is not a valid {tag.rsplit(':', 1)[-1]}") from error
