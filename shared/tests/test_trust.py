"""Signed public events (crm_shared.bus.trust): what the owner signed passes, anything else is poison."""

from __future__ import annotations

import asyncio
import base64
import uuid
from dataclasses import replace
from pathlib import Path

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from crm_shared.bus import HEADER_DLT_REASON, Message, PoisonMessage, dead_letter_topic
from crm_shared.bus.embedded import EmbeddedBus
from crm_shared.bus.trust import RUN_MAC_HEADER, SIGNATURE_HEADER, Keys, TrustedBus, owner_of, signed_bytes

TOPIC = "crm.contacts.counterparty.v1"


def event(key: str = "c-1", value: bytes = b'{"name": "Alfa"}') -> Message:
    headers = {
        "ce_id": str(uuid.uuid4()),
        "ce_type": "crm.contacts.CounterpartyRegistered",
        "ce_source": "crm/contacts",
    }
    return Message(TOPIC, key, value, {**headers, "ce_subject": key})


def test_the_owner_of_a_topic_is_its_context() -> None:
    assert owner_of(TOPIC) == "contacts"
    assert owner_of("crm.identity.access-group.v1") == "identity"
    assert owner_of(dead_letter_topic(TOPIC)) is None
    assert owner_of("gateway.private") is None


def test_a_signed_message_passes_and_any_change_to_it_does_not(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    signed = keys.sign(event())
    keys.check(signed)
    assert (tmp_path / "keys" / "contacts.key").stat().st_mode & 0o077 == 0, "the private key is its owner's alone"
    tampered = [
        replace(signed, value=b'{"name": "Forged"}'),
        replace(signed, key="c-2"),
        replace(signed, topic="crm.interactions.interaction.v1"),
        replace(signed, headers={**signed.headers, "ce_type": "crm.contacts.CounterpartyArchived"}),
        replace(signed, headers={k: v for k, v in signed.headers.items() if k != SIGNATURE_HEADER}),
        replace(signed, headers={**signed.headers, SIGNATURE_HEADER: "not-base64!"}),
        replace(
            signed, headers={**signed.headers, SIGNATURE_HEADER: signed.headers[SIGNATURE_HEADER][:43]}
        ),  # 32 bytes
    ]
    for message in tampered:
        with pytest.raises(PoisonMessage, match="untrusted"):
            keys.check(message)
        with pytest.raises(PoisonMessage, match="untrusted"):
            Keys(tmp_path / "keys").check(message)  # a process that never saw the signature verifies it


def test_anyone_verifies_a_signature_with_the_public_key_file_alone(tmp_path: Path) -> None:
    """Outside the CRM a consumer needs only ``<context>.pub`` (SubjectPublicKeyInfo PEM) and any
    Ed25519 implementation: here OpenSSL's, through ``cryptography``."""
    signed = Keys(tmp_path / "keys").sign(event())
    public = serialization.load_pem_public_key((tmp_path / "keys" / "contacts.pub").read_bytes())
    assert isinstance(public, Ed25519PublicKey)
    signature = base64.urlsafe_b64decode(signed.headers[SIGNATURE_HEADER] + "==")
    public.verify(signature, signed_bytes(signed))
    with pytest.raises(InvalidSignature):
        public.verify(signature, signed_bytes(replace(signed, key="c-2")))


def test_another_key_folder_cannot_sign_for_the_owner(tmp_path: Path) -> None:
    owner, outsider = Keys(tmp_path / "owner"), Keys(tmp_path / "outsider")
    owner.private("contacts")  # the owner's keys exist
    forged = outsider.sign(event())  # signed, but with a key the outsider made for itself
    (tmp_path / "consumer").mkdir()
    (tmp_path / "consumer" / "contacts.pub").write_bytes((tmp_path / "owner" / "contacts.pub").read_bytes())
    consumer = Keys(tmp_path / "consumer")  # holds only the owner's public key
    consumer.check(owner.sign(event()))
    with pytest.raises(PoisonMessage, match="untrusted"):
        consumer.check(forged)
    with pytest.raises(PoisonMessage, match="no public key"):
        Keys(tmp_path / "empty").check(owner.sign(event()))


async def test_a_trusted_bus_dead_letters_what_its_owner_did_not_sign(tmp_path: Path) -> None:
    inner = EmbeddedBus(tmp_path / "bus.db")
    bus = TrustedBus(inner, Keys(tmp_path / "keys"))
    await bus.start()
    try:
        seen: list[Message] = []
        dead: list[Message] = []

        async def take(messages: list[Message]) -> None:
            seen.extend(messages)

        async def collect(message: Message) -> None:
            dead.append(message)

        await bus.subscribe_batches([TOPIC], "copy", take)  # type: ignore[arg-type]
        await bus.subscribe([dead_letter_topic(TOPIC)], "ops", collect)
        await bus.publish([event("a")])  # signed on the way out
        await inner.publish([event("forged")])  # straight onto the log: unsigned
        await bus.publish([event("b")])
        for _ in range(300):
            if len(seen) == 2 and dead:
                break
            await asyncio.sleep(0.01)
        assert [m.key for m in seen] == ["a", "b"]
        assert [m.key for m in dead] == ["forged"]
        assert "untrusted: not signed by contacts" in dead[0].headers[HEADER_DLT_REASON]
    finally:
        await bus.stop()


def test_a_signature_is_taken_unverified_only_for_the_bytes_and_key_it_was_made_with(tmp_path: Path) -> None:
    """Keys remembers the signatures it made or verified (so a process's consumers do not verify
    again what its relay signed); that never lets through what verifying would refuse."""
    keys = Keys(tmp_path / "keys")
    signed = keys.sign(event())
    keys.check(signed)
    keys.check(signed)  # remembered: the same answer
    with pytest.raises(PoisonMessage, match="untrusted"):
        keys.check(replace(signed, value=b'{"name": "Forged"}'))  # same signature, other bytes
    # A folder whose public key is not the private key's: what this process signs does not pass.
    mismatched = tmp_path / "mismatched"
    mismatched.mkdir()
    Keys(mismatched).private("contacts")
    (mismatched / "contacts.pub").write_bytes((tmp_path / "keys" / "contacts.pub").read_bytes())
    other = Keys(mismatched)
    with pytest.raises(PoisonMessage, match="untrusted"):
        other.check(other.sign(event()))
    other.check(signed)  # the public key's own signature passes, verified


async def test_a_batch_signed_and_checked_off_the_loop_is_as_one_message_at_a_time(tmp_path: Path) -> None:
    keys = Keys(tmp_path / "keys")
    private = Message("gateway.private", "k", b"{}", {"ce_id": "1"})  # not a public topic: left unsigned
    batch = [event("c-1"), private, event("c-2", b'{"name": "Beta"}'), event("c-3")]
    signed = await keys.sign_all(batch)
    assert signed[1] is private
    # Ed25519 signatures are deterministic: the batch's are exactly the single ones, message by message.
    assert [m.headers.get(SIGNATURE_HEADER) for m in signed] == [
        None if m is private else keys.sign(m).headers[SIGNATURE_HEADER] for m in batch
    ]
    consumer = Keys(tmp_path / "keys")  # another process: verifies (on a thread) instead of remembering
    await consumer.check_all(signed)
    forged = replace(signed[2], value=b'{"name": "Forged"}')
    with pytest.raises(PoisonMessage, match="untrusted"):
        await Keys(tmp_path / "keys").check_all([signed[0], forged, signed[3]])
    with pytest.raises(PoisonMessage, match="untrusted"):
        await consumer.check_all([forged])  # what it verified before does not vouch for other bytes
    assert await keys.sign_all([private]) == [private]


async def test_the_processes_of_one_run_take_each_others_mac_and_nothing_else(tmp_path: Path) -> None:
    """crm up and its background process share a run key: a message with the run's MAC is taken
    without verifying its signature; the MAC does not vouch for other bytes, and a MAC of another
    run's key (or none) sends the message to the Ed25519 check."""
    run_key = bytes(range(32))
    publisher = Keys(tmp_path / "keys", run_key=run_key)
    (signed,) = await publisher.sign_all([event()])
    assert signed.headers[RUN_MAC_HEADER]
    same_run = Keys(tmp_path / "keys", run_key=run_key)
    await same_run.check_all([signed])
    # The MAC stands for the signature in this run: a bogus signature beside a right MAC is taken,
    bogus = replace(signed, headers={**signed.headers, SIGNATURE_HEADER: "A" * 86})
    await same_run.check_all([bogus])
    # but by nobody without the run key (another run, a distributed role): they verify the signature.
    for outsider in (Keys(tmp_path / "keys", run_key=bytes(32)), Keys(tmp_path / "keys")):
        await outsider.check_all([signed])
        with pytest.raises(PoisonMessage, match="untrusted"):
            await outsider.check_all([bogus])
    # Altered bytes fail the MAC and then the signature; a message must still be signed at all.
    with pytest.raises(PoisonMessage, match="untrusted"):
        await same_run.check_all([replace(signed, value=b'{"name": "Forged"}')])
    with pytest.raises(PoisonMessage, match="not signed"):
        await same_run.check_all(
            [replace(signed, headers={k: v for k, v in signed.headers.items() if k != SIGNATURE_HEADER})]
        )
    assert RUN_MAC_HEADER not in Keys(tmp_path / "keys").sign(event()).headers  # no run key: no MAC
