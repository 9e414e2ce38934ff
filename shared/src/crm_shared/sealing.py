"""AES-GCM sealing of personal data with a key per data subject: the basis of crypto-shredding (ADR 12, 15).

Each value is sealed on its own, with a fresh 96-bit nonce. Two forms:

- ``enc1:`` + URL-safe base64 of nonce and ciphertext (:func:`seal`): the subject and the field are
  the associated data, and the reader knows both from where the value is (a person's own events);
- ``enc2:<subject>:`` + the same (:func:`seal_for`): the value names the subject whose key sealed it,
  for records that hold data of a person they do not belong to (an interaction names its contact
  person). The associated data is the subject and a ``purpose`` the reader knows (e.g. the
  interaction), so a sealed value copied into another record does not open.

Without the key (the subject was erased) a value can never be opened again: readers show it as erased.
"""

from __future__ import annotations

import base64
import binascii
import os
from collections.abc import Callable, Mapping
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1:"
KEYED_PREFIX = "enc2:"
KEY_BYTES = 32
NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value does not open with the key it should: tampered with, or sealed for another field."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _associated(subject: str, field: str) -> bytes:
    return f"{subject}\x1f{field}".encode()


def _encrypt(key: bytes, associated: bytes, plaintext: str) -> str:
    nonce = os.urandom(NONCE_BYTES)
    return base64.urlsafe_b64encode(nonce + AESGCM(key).encrypt(nonce, plaintext.encode(), associated)).decode("ascii")


def _decrypt(key: bytes, associated: bytes, text: str, field: str) -> str:
    try:
        raw = base64.urlsafe_b64decode(text.encode("ascii"))
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], associated)
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise SealBroken(f"{field}: the sealed value does not open") from exc
    return plaintext.decode()


def is_sealed(value: object) -> bool:
    """Whether ``value`` is a text sealed by :func:`seal` (or :func:`seal_for`)."""
    return isinstance(value, str) and value.startswith((PREFIX, KEYED_PREFIX))


def seal(key: bytes, subject: str, field: str, plaintext: str) -> str:
    """``plaintext`` encrypted for ``field`` of ``subject``."""
    return PREFIX + _encrypt(key, _associated(subject, field), plaintext)


def unseal(key: bytes, subject: str, field: str, sealed: str) -> str:
    """The plaintext of a value sealed by :func:`seal` for the same subject and field."""
    if not isinstance(sealed, str) or not sealed.startswith(PREFIX):
        raise SealBroken(f"{field}: not a sealed value")
    return _decrypt(key, _associated(subject, field), sealed[len(PREFIX) :], field)


# -- values that name their subject -----------------------------------------------------------------


def seal_for(key: bytes, subject: str, purpose: str, plaintext: str) -> str:
    """``plaintext`` encrypted with ``subject``'s key, naming the subject, bound to ``purpose``."""
    if ":" in subject:
        raise ValueError("a subject id has no ':'")
    return f"{KEYED_PREFIX}{subject}:" + _encrypt(key, _associated(subject, purpose), plaintext)


def subject_of(value: object) -> str | None:
    """The subject a value sealed by :func:`seal_for` names (None for any other value)."""
    if not isinstance(value, str) or not value.startswith(KEYED_PREFIX):
        return None
    subject, sep, _ = value[len(KEYED_PREFIX) :].partition(":")
    return subject if sep and subject else None


def open_for(key: bytes, purpose: str, sealed: str) -> str:
    """The plaintext of a value sealed by :func:`seal_for` for the same purpose."""
    subject = subject_of(sealed)
    if subject is None:
        raise SealBroken(f"{purpose}: not a sealed value")
    text = sealed[len(KEYED_PREFIX) + len(subject) + 1 :]
    return _decrypt(key, _associated(subject, purpose), text, purpose)


def subjects_in(value: Any) -> set[str]:
    """Every subject named by a value sealed by :func:`seal_for` anywhere in ``value`` (JSON-like)."""
    found: set[str] = set()

    def walk(item: Any) -> None:
        if isinstance(item, str):
            subject = subject_of(item)
            if subject is not None:
                found.add(subject)
        elif isinstance(item, Mapping):
            for inner in item.values():
                walk(inner)
        elif isinstance(item, list | tuple):
            for inner in item:
                walk(inner)

    walk(value)
    return found


def open_tree(value: Any, keys: Mapping[str, bytes | None], purpose: str) -> tuple[Any, list[str]]:
    """``value`` (JSON-like) with every value sealed by :func:`seal_for` opened with its subject's key
    from ``keys``, and the paths of those that could not be (no key: erased). An erased text becomes
    ``""``, and an erased item of a list is left out. Raises :class:`SealBroken` for a value that
    does not open with its key (tampered with, or copied from another purpose)."""
    erased: list[str] = []
    gone = object()

    def walk(item: Any, path: str) -> Any:
        if isinstance(item, str):
            subject = subject_of(item)
            if subject is None:
                return item
            key = keys.get(subject)
            if key is None:
                erased.append(path)
                return gone
            return open_for(key, purpose, item)
        if isinstance(item, Mapping):
            opened = {}
            for name, inner in item.items():
                result = walk(inner, f"{path}.{name}" if path else str(name))
                opened[name] = "" if result is gone else result
            return opened
        if isinstance(item, list | tuple):
            kept = [walk(inner, f"{path}[{i}]") for i, inner in enumerate(item)]
            return [x for x in kept if x is not gone]
        return item

    result = walk(value, "")
    return ("" if result is gone else result), erased


def seal_fields(
    data: Mapping[str, Any], names: frozenset[str] | set[str], seal_one: Callable[[str], str]
) -> dict[str, Any]:
    """``data`` with every text of the fields ``names`` (a text, the texts of a list, or the texts of a
    mapping's values, one level deep) sealed by ``seal_one``; empty texts and sealed ones stay."""

    def one(value: Any) -> Any:
        if isinstance(value, str):
            return value if not value or is_sealed(value) else seal_one(value)
        if isinstance(value, list | tuple):
            return [one(x) if isinstance(x, str) else x for x in value]
        return value

    sealed = dict(data)
    for name in names:
        if name in sealed:
            sealed[name] = one(sealed[name])
    return sealed
