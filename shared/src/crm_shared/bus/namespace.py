"""A namespace for topics and consumer groups, so several deployments (staging and production, or
parallel test runs) can share one Kafka cluster without seeing each other's messages."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from crm_shared.bus.port import BatchHandler, Bus, Handler, Message, Subscription


class NamespacedBus:
    """Prefixes every topic and group with ``namespace.`` on the way out and strips it on the way in."""

    def __init__(self, inner: Bus, namespace: str) -> None:
        self._inner = inner
        self._prefix = f"{namespace}."

    async def start(self) -> None:
        """Start the inner bus."""
        await self._inner.start()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Publish to the namespaced topics."""
        await self._inner.publish([replace(m, topic=self._prefix + m.topic) for m in messages])

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> Subscription:
        """Subscribe to the namespaced topics; the handler sees the plain topic names."""

        async def unprefixed(message: Message) -> None:
            await handler(replace(message, topic=message.topic.removeprefix(self._prefix)))

        return await self._inner.subscribe(
            [self._prefix + t for t in topics],
            self._prefix + group,
            unprefixed,
            max_attempts=max_attempts,
            from_beginning=from_beginning,
        )

    async def subscribe_batches(
        self,
        topics: Sequence[str],
        group: str,
        handler: BatchHandler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> Subscription:
        """Subscribe to the namespaced topics in batches; the handler sees the plain topic names."""

        async def unprefixed(messages: Sequence[Message]) -> None:
            await handler([replace(m, topic=m.topic.removeprefix(self._prefix)) for m in messages])

        return await self._inner.subscribe_batches(
            [self._prefix + t for t in topics],
            self._prefix + group,
            unprefixed,
            max_attempts=max_attempts,
            from_beginning=from_beginning,
        )

    async def stop(self) -> None:
        """Stop the inner bus."""
        await self._inner.stop()
