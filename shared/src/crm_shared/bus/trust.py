"""Who may speak on a public topic: every event the CRM publishes is signed by its owner, and every
CRM consumer refuses what its owner did not sign (ADR 14).

The owner of topic ``crm.<context>.<aggregate>.v<N>`` is the context (``contacts``, ``interactions``,
``identity``: the ``crm/<context>`` of the CloudEvents source). It signs each message with its
Ed25519 key; the signature is in header ``crm_signature`` (base64url) and covers the topic, the key,
``ce_id``, ``ce_type``, ``ce_source``, ``ce_subject`` and the SHA-256 of the value
(:func:`signed_bytes`), so it cannot be moved to another topic, record or event, nor its data changed.

Keys live in one folder (``CRM_SIGNING_KEYS_DIR``, default ``<data dir>/keys``): ``<context>.key``
(the private key, PKCS#8 PEM, readable by its owner only) and ``<context>.pub`` (the public key,
SubjectPublicKeyInfo PEM, for anyone who verifies, inside the CRM or outside). A process that
publishes for a context whose key is not there yet makes it (embedded mode, first start). In a
deployment, give each service's processes only their own context's private key and everybody's
public keys; Kafka ACLs with one principal per service add a second fence (only the owner may
write its topics).

:class:`TrustedBus` wraps the bus of every process: it signs what the process publishes on a
``crm.*`` topic and hands a consumer of a ``crm.*`` topic only messages that carry their owner's
valid signature. Any other message is refused as poison (dead-lettered with the reason), so a forged
event changes nothing. Dead-letter topics keep the original's headers and are not checked.

**The processes of one ``crm up``** (its API and its background process, ADR 22) also share a *run
key*: a random secret ``crm up`` makes at start, hands to its background process on a pipe and never
stores. With it, a publisher adds header ``crm_run_mac``, an HMAC-SHA256 of the same signed bytes,
and a consumer that holds the key takes a message whose MAC is right without verifying its Ed25519
signature: ~2 µs instead of ~60 µs of CPU, on a machine whose cores the two processes share. In
``crm up`` one folder holds every context's private key, so the run key trusts nobody the keys do
not already trust. Messages of an earlier run (another key) and of every other process are verified
as above; distributed roles get no run key.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import os
import secrets
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from nacl.exceptions import BadSignatureError
from nacl.signing import SigningKey, VerifyKey

from crm_shared.bus.port import DEAD_LETTER_SUFFIX, BatchHandler, Bus, Handler, Message, PoisonMessage, Subscription

SIGNATURE_HEADER = "crm_signature"
RUN_MAC_HEADER = "crm_run_mac"
"""The MAC of the processes of one ``crm up`` (see the module docstring)."""
_SIGNED_HEADERS = ("ce_id", "ce_type", "ce_source", "ce_subject")
KNOWN_SIGNATURES = 16_384
"""How many (signature, signed bytes) pairs a :class:`Keys` remembers as valid (see :meth:`Keys.check`)."""


def owner_of(topic: str) -> str | None:
    """The context that owns a public topic (``crm.contacts.counterparty.v1`` → ``contacts``), or
    None for a topic that is not a public event topic (dead letters, private and test topics)."""
    parts = topic.split(".")
    if len(parts) < 4 or parts[0] != "crm" or topic.endswith(DEAD_LETTER_SUFFIX):
        return None
    return parts[1]


def signed_bytes(message: Message) -> bytes:
    """What the signature covers (see the module docstring)."""
    fields = [message.topic, message.key, *(message.headers.get(h, "") for h in _SIGNED_HEADERS)]
    fields.append(hashlib.sha256(message.value).hexdigest())
    return "\n".join(fields).encode()


class Keys:
    """The signing keys folder: private keys of the contexts this process publishes for, and the
    public keys of every context it consumes."""

    def __init__(self, folder: Path, *, run_key: bytes | None = None) -> None:
        self._folder = folder
        self._run_key = run_key
        """The secret the processes of one ``crm up`` share (see the module docstring), or None."""
        self._private: dict[str, SigningKey] = {}
        self._public: dict[str, VerifyKey] = {}
        self._own: dict[str, bool] = {}
        # (context, signature) -> SHA-256 of the bytes it is valid for, with the context's public key
        # this process checks with: made by this process, or verified by it once already.
        self._valid: OrderedDict[tuple[str, bytes], bytes] = OrderedDict()

    def private(self, context: str) -> SigningKey:
        """The context's private key, made (with its public key) when the folder has none."""
        key = self._private.get(context)
        if key is None:
            key = self._private[context] = SigningKey(self._load_or_make(context).private_bytes_raw())
        return key

    def public(self, context: str) -> VerifyKey | None:
        """The context's public key, or None when the folder has none (then nothing of it is trusted)."""
        key = self._public.get(context)
        if key is None:
            pub, private = self._folder / f"{context}.pub", self._folder / f"{context}.key"
            if pub.exists():
                loaded = serialization.load_pem_public_key(pub.read_bytes())
                if not isinstance(loaded, Ed25519PublicKey):
                    raise ValueError(f"{pub} is not an Ed25519 public key")
                key = VerifyKey(loaded.public_bytes_raw())
            elif private.exists():
                key = self.private(context).verify_key
            else:
                return None  # asked again next time: the owner may make it meanwhile
            self._public[context] = key
        return key

    def _load_or_make(self, context: str) -> Ed25519PrivateKey:
        path = self._folder / f"{context}.key"
        if not path.exists():
            self._folder.mkdir(parents=True, exist_ok=True)
            made = Ed25519PrivateKey.generate()
            pem = made.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
            # Written aside and linked into place: of two processes making it at once, one key wins.
            temporary = self._folder / f".{context}.{secrets.token_hex(6)}.tmp"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "wb") as file:
                file.write(pem)
            try:
                os.link(temporary, path)
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        loaded = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(loaded, Ed25519PrivateKey):
            raise ValueError(f"{path} is not an Ed25519 private key")
        public = self._folder / f"{context}.pub"
        if not public.exists():
            pem = loaded.public_key().public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
            temporary = self._folder / f".{context}.{secrets.token_hex(6)}.pub.tmp"
            temporary.write_bytes(pem)
            temporary.replace(public)
        return loaded

    def sign(self, message: Message) -> Message:
        """``message`` with its owner's signature (unchanged when its topic is not a public one)."""
        context = owner_of(message.topic)
        if context is None:
            return message
        signed = signed_bytes(message)
        return self._with_signature(message, context, signed, self.private(context).sign(signed).signature)

    async def sign_all(self, messages: Sequence[Message]) -> list[Message]:
        """Each of ``messages`` signed as :meth:`sign` does, the signing on a thread: an Ed25519
        signature is ~24 µs of CPU (libsodium's; OpenSSL's took 36) that lets the GIL go, so the
        event loop (which under load is what limits a process) hands it to another core."""
        owned = [(i, context) for i, m in enumerate(messages) if (context := owner_of(m.topic)) is not None]
        if not owned:
            return list(messages)
        keys = {context: self.private(context) for _, context in owned}  # loaded (or made) here, once

        def work() -> list[tuple[bytes, bytes]]:
            pairs = []
            for i, context in owned:
                signed = signed_bytes(messages[i])
                pairs.append((signed, keys[context].sign(signed).signature))
            return pairs

        signed_all = list(messages)
        for (i, context), (signed, signature) in zip(owned, await asyncio.to_thread(work), strict=True):
            signed_all[i] = self._with_signature(messages[i], context, signed, signature)
        return signed_all

    def _with_signature(self, message: Message, context: str, signed: bytes, signature: bytes) -> Message:
        if self._signs_as_checked(context):
            self._remember(context, signature, signed)
        headers = {**message.headers, SIGNATURE_HEADER: _b64(signature)}
        if self._run_key is not None:
            headers[RUN_MAC_HEADER] = _b64(self._run_mac(signed))
        return replace(message, headers=headers)

    def _run_mac(self, signed: bytes) -> bytes:
        assert self._run_key is not None
        return hmac.digest(self._run_key, signed, "sha256")

    def _signs_as_checked(self, context: str) -> bool:
        """Whether this process's private key of ``context`` is the one its public key checks."""
        own = self._own.get(context)
        if own is None:
            public = self.public(context)
            own = self._own[context] = public is not None and bytes(public) == bytes(self.private(context).verify_key)
        return own

    def _remember(self, context: str, signature: bytes, signed: bytes) -> None:
        self._valid[(context, signature)] = hashlib.sha256(signed).digest()
        if len(self._valid) > KNOWN_SIGNATURES:
            self._valid.popitem(last=False)

    def check(self, message: Message) -> None:
        """Raise :class:`PoisonMessage` unless ``message`` carries its owner's valid signature."""
        unverified = self._unverified(message)
        if unverified is None:
            return
        if not _valid(unverified):
            raise _forged(unverified)
        self._remember(unverified.context, unverified.signature, unverified.signed)

    async def check_all(self, messages: Sequence[Message]) -> None:
        """:meth:`check` of each message, the Ed25519 verifications (~60 µs of CPU each with
        libsodium's, 115 with OpenSSL's; they let the GIL go) on a thread: messages of another
        process, as in distributed mode."""
        unverified = [u for m in messages if (u := self._unverified(m)) is not None]
        if not unverified:
            return
        valid = await asyncio.to_thread(lambda: [_valid(u) for u in unverified])
        for each, ok in zip(unverified, valid, strict=True):
            if not ok:
                raise _forged(each)
            self._remember(each.context, each.signature, each.signed)

    def _unverified(self, message: Message) -> _Unverified | None:
        """What is left to verify of ``message``'s signature: None when there is nothing to (not a
        public topic, or a signature this process made or verified for exactly these bytes: verifying
        is a pure function of key, signature and bytes, and in embedded mode the consumers of a
        process take the messages its relay signed). Raises :class:`PoisonMessage` when it has no
        signature, no public key of its owner is here, or the signature is not base64."""
        context = owner_of(message.topic)
        if context is None:
            return None
        signature = message.headers.get(SIGNATURE_HEADER)
        if not signature:
            raise PoisonMessage(f"untrusted: not signed by {context}, the owner of {message.topic}")
        public = self.public(context)
        if public is None:
            raise PoisonMessage(f"untrusted: no public key of {context} to check the signature with")
        signed = signed_bytes(message)
        try:
            raw = base64.urlsafe_b64decode(signature + "=" * (-len(signature) % 4))
        except ValueError as exc:
            raise PoisonMessage(f"untrusted: the signature is not {context}'s for this message") from exc
        if self._valid.get((context, raw)) == hashlib.sha256(signed).digest():
            return None
        mac = message.headers.get(RUN_MAC_HEADER)
        if mac and self._run_key is not None and hmac.compare_digest(mac, _b64(self._run_mac(signed))):
            return None  # published by a process of this crm up, which signed it with the owner's key
        return _Unverified(context, public, raw, signed)


@dataclass(frozen=True, slots=True)
class _Unverified:
    context: str
    public: VerifyKey
    signature: bytes
    signed: bytes


def _valid(unverified: _Unverified) -> bool:
    try:
        unverified.public.verify(unverified.signed, unverified.signature)
    except (BadSignatureError, ValueError):  # ValueError: not 64 bytes long
        return False
    return True


def _forged(unverified: _Unverified) -> PoisonMessage:
    return PoisonMessage(f"untrusted: the signature is not {unverified.context}'s for this message")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


class TrustedBus:
    """Signs what is published on public topics and lets consumers see only signed messages there."""

    def __init__(self, inner: Bus, keys: Keys) -> None:
        self._inner = inner
        self.keys = keys

    async def start(self) -> None:
        """Start the inner bus."""
        await self._inner.start()

    async def publish(self, messages: Sequence[Message]) -> None:
        """Sign, then publish."""
        await self._inner.publish(await self.keys.sign_all(messages))

    async def subscribe(
        self,
        topics: Sequence[str],
        group: str,
        handler: Handler,
        *,
        max_attempts: int = 5,
        from_beginning: bool = True,
    ) -> Subscription:
        """Subscribe; a message on a public topic reaches ``handler`` only with its owner's signature."""

        async def checked(message: Message) -> None:
            await self.keys.check_all([message])
            await handler(message)

        return await self._inner.subscribe(
            topics, group, checked, max_attempts=max_attempts, from_beginning=from_beginning
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
        """As :meth:`subscribe`; a batch with an untrusted message is refused whole, and then handed
        over one message at a time (the bus rule), so only that message is dead-lettered."""

        async def checked(messages: Sequence[Message]) -> None:
            await self.keys.check_all(messages)
            await handler(messages)

        return await self._inner.subscribe_batches(
            topics, group, checked, max_attempts=max_attempts, from_beginning=from_beginning
        )

    async def stop(self) -> None:
        """Stop the inner bus."""
        await self._inner.stop()
