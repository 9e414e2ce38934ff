"""What contacts takes from other services' topics.

``crm.interactions.InformationSourceProvided``: at an interaction a counterparty said how it found us;
the source goes into the counterparty's dated source history. The command carries an idempotency key
made of the message's id, so a redelivered message appends nothing; a message that can never apply
(unknown source, archived counterparty) is dead-lettered with the reason.
"""

from __future__ import annotations

import logging

from crm_contacts.application.counterparties.commands import CounterpartyCommands
from crm_contacts.domain import counterparty as cp
from crm_shared.bus import Bus, Message, PoisonMessage, Subscription
from crm_shared.contracts.interactions import INTERACTION_TOPIC
from crm_shared.contracts.interactions.interaction import InformationSourceProvided
from crm_shared.errors import DomainError
from crm_shared.identity import caller_of
from crm_shared.integration import Envelope

GROUP = "contacts.sources-from-interactions"
SOURCE_PROVIDED = "crm.interactions.InformationSourceProvided"
INTERACTIONS = caller_of("system:interactions", ["administrator"], name="Interactions service")
"""Who records a source told at an interaction (the interaction itself names who took it)."""
log = logging.getLogger(__name__)


class SourcesFromInteractions:
    """Records the information sources told at interactions."""

    def __init__(self, commands: CounterpartyCommands) -> None:
        self._commands = commands

    async def subscribe(self, bus: Bus) -> Subscription:
        """Consume the interactions topic as this service's group."""
        return await bus.subscribe([INTERACTION_TOPIC], GROUP, self.handle)

    async def handle(self, message: Message) -> None:
        """Apply one message (other event types of the topic are not ours and are skipped)."""
        envelope = Envelope.from_message(message)  # PoisonMessage when it is not an integration event
        if envelope.type != SOURCE_PROVIDED:
            return
        try:
            told = InformationSourceProvided.model_validate(envelope.data)
        except ValueError as exc:
            raise PoisonMessage(f"not a {SOURCE_PROVIDED}: {exc}") from exc
        command = cp.RecordSource(told.counterparty_id, told.source, told.on)
        try:
            await self._commands.handle(
                command,
                INTERACTIONS,
                idempotency_key=f"interaction-source:{envelope.id}",
                metadata={"interaction_id": told.interaction_id},
            )
        except DomainError as exc:
            raise PoisonMessage(f"cannot record source {told.source!r} for {told.counterparty_id}: {exc}") from exc
        log.info(
            "contacts: source %s of %s told at interaction %s", told.source, told.counterparty_id, told.interaction_id
        )
