"""The services of the CRM: the one list that the launcher (:mod:`crm.system`), the ``crm`` command's
roles, the gateway's forwarding table and the architecture tests read.

Adding a service: its folder ``services/<name>/`` in the common shape, with ``service.py`` exposing
its :class:`~crm_shared.service.Service`; its workspace entry in ``pyproject.toml``; and its line here.
``tests/architecture`` fails while a folder under ``services/`` is missing from this list, from the
import rules (``.importlinter``) or from the workspace.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crm_analytics.service import ANALYTICS
from crm_contacts.service import CONTACTS
from crm_gateway.service import GATEWAY
from crm_interactions.service import INTERACTIONS
from crm_shared.service import Service

FRONT: Service[Any] = GATEWAY
"""The front door: sign-in and the web UI; in distributed mode it proxies ``/api/v1`` to the others."""

BEHIND: tuple[Service[Any], ...] = (
    CONTACTS,
    INTERACTIONS,
    ANALYTICS,
)
"""The services behind the gateway, each with the roles ``<name>-api``, ``-relay`` and ``-projector``;
started in this order (and stopped in the reverse) in one process."""

ROLES = ("api", "relay", "projector")
"""The distributed roles of each service behind the gateway."""


def everything() -> tuple[Service[Any], ...]:
    """Every service, the gateway first."""
    return (FRONT, *BEHIND)


def behind(name: str) -> Service[Any]:
    """The service behind the gateway called ``name``."""
    for service in BEHIND:
        if service.name == name:
            return service
    raise KeyError(f"no service {name!r}; the services are {', '.join(s.name for s in BEHIND)}")


def forwarding_table() -> Mapping[str, tuple[str, ...]]:
    """``{service: the /api/v1 prefixes it owns}`` for the gateway's proxy."""
    return {service.name: service.prefixes for service in BEHIND}
