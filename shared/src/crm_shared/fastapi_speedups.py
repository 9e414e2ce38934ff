"""FastAPI's per-request inspection of parameters and dependencies, worked out once.

For every request, FastAPI's dependency solving asks again questions whose answers depend only on
the route's declarations, never on the request: whether a dependency is a security scheme
(``inspect.unwrap`` of its callable, for the dependency cache key), and for each query, header and
cookie parameter whether it is a parameter model, a JSON field or a sequence, and which names it
goes by. Measured on ``POST /api/v1/counterparties`` (a header, a query parameter, the caller
dependency and the body): dependency solving took ~90 µs a request, a third of it these questions.

:func:`install` keeps each answer the first time it is asked, keyed by the identity of the object
asked about (a route's ``ModelField``, a dependency's callable, an annotation), which is held so
that the identity cannot be reused. What FastAPI does with the answers is untouched: the same
values, the same validation and the same errors. The answers are pure functions of objects that
FastAPI builds once per route and does not change afterwards; dependency overrides (tests) make
new ones per request, so each table is bounded and simply starts over when full.

Only the FastAPI functions this was written against are replaced; when one is missing (another
FastAPI version), nothing is installed and FastAPI works as it is.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

log = logging.getLogger(__name__)

_LIMIT = 8192
"""Entries per table before it starts over (the routes of every service hold a few hundred)."""

_installed = False


def _by_identity(function: Callable[[Any], Any]) -> Callable[[Any], Any]:
    """``function`` of one argument, remembered per argument object (by identity)."""
    known: dict[int, tuple[Any, Any]] = {}

    def remembered(argument: Any) -> Any:
        entry = known.get(id(argument))
        if entry is not None and entry[0] is argument:
            return entry[1]
        value = function(argument)
        if len(known) >= _LIMIT:
            known.clear()
        known[id(argument)] = (argument, value)
        return value

    remembered.__wrapped_by_crm__ = function  # type: ignore[attr-defined]
    return remembered


def install() -> bool:
    """Install the remembered answers into FastAPI (once per process); False when this FastAPI
    lacks one of the functions replaced, in which case nothing is changed."""
    global _installed
    if _installed:
        return True
    import fastapi
    from fastapi.dependencies import models, utils

    names = {
        models: ("_is_security_scheme",),
        utils: ("_get_param_model", "_get_param_aliases", "_is_json_field", "field_annotation_is_sequence"),
    }
    if not all(callable(getattr(module, name, None)) for module, found in names.items() for name in found):
        log.warning("FastAPI %s: its per-request inspection is not remembered", fastapi.__version__)
        return False

    is_security_scheme: Callable[..., bool] = models._is_security_scheme
    security_of_call = _by_identity(lambda call: is_security_scheme(dependant=_Call(call)))

    def _is_security_scheme(*, dependant: Any) -> bool:
        return bool(security_of_call(dependant.call))

    get_param_aliases = utils._get_param_aliases
    plain_aliases = _by_identity(lambda field: tuple(get_param_aliases(field)))

    def _get_param_aliases(field: Any, *, convert_underscores: bool = False) -> list[tuple[str, str]]:
        if convert_underscores:
            return list(get_param_aliases(field, convert_underscores=True))
        return list(plain_aliases(field))

    replacements: tuple[tuple[object, str, Callable[..., Any]], ...] = (
        (models, "_is_security_scheme", _is_security_scheme),
        (utils, "_get_param_model", _by_identity(utils._get_param_model)),
        (utils, "_get_param_aliases", _get_param_aliases),
        (utils, "_is_json_field", _by_identity(utils._is_json_field)),
        (utils, "field_annotation_is_sequence", _by_identity(vars(utils)["field_annotation_is_sequence"])),
    )
    for module, name, replacement in replacements:
        setattr(module, name, replacement)
    _installed = True
    return True


class _Call:
    """What ``_is_security_scheme`` reads of a dependant: its callable."""

    __slots__ = ("call",)

    def __init__(self, call: Any) -> None:
        self.call = call
