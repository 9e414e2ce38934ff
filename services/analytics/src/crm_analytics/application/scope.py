"""Which customers a caller's reports cover: the whole, or the counterparties of their access groups.

- ``analytics:read`` (administrators, heads of sales, marketers) and ``access-groups:all``: every
  customer, linked to a counterparty or not;
- ``counterparty:read`` alone (sales managers, read-only users): only the customers linked to a
  counterparty whose access group (today's) is one of theirs; customers no counterparty carries are
  never theirs. Totals and shares are of those rows only, so nothing of the rest leaks through a sum;
- anyone else: 403.

A report's SQL applies the scope with :data:`SCOPE_SQL` on its ``counterparty_id`` column and binds
:meth:`Scope.parameters` (every report's parameters go through it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from crm_shared.errors import Forbidden
from crm_shared.identity import Caller, Permission

SCOPE_SQL = (
    "(NOT {scoped:Bool} OR counterparty_id IN (SELECT counterparty_id FROM"
    " counterparties_as_of(as_of = {scope_at:DateTime64(6, 'UTC')}) WHERE access_group IN {groups:Array(String)}))"
)
"""A condition on a ``counterparty_id`` column: true for the rows of the caller's scope."""


@dataclass(frozen=True, slots=True)
class Scope:
    """The access groups whose counterparties a caller's reports cover; None: every customer."""

    groups: frozenset[str] | None

    @property
    def whole(self) -> bool:
        """Whether every customer is covered."""
        return self.groups is None

    def parameters(self) -> dict[str, Any]:
        """The SQL parameters of :data:`SCOPE_SQL`."""
        return {
            "scoped": self.groups is not None,
            "groups": sorted(self.groups or ()),
            "scope_at": datetime.now(UTC),
        }


WHOLE = Scope(None)


def scope_of(caller: Caller) -> Scope:
    """The caller's scope, or :class:`Forbidden` when their roles allow no analytics report."""
    if caller.can(Permission.ANALYTICS_READ) or caller.can(Permission.ALL_ACCESS_GROUPS):
        return WHOLE
    if caller.can(Permission.COUNTERPARTY_READ):
        return Scope(frozenset(caller.groups))
    raise Forbidden("your roles do not allow reading analytics reports")
