"""AES-GCM sealing of personal fields with a per-person key: the basis of crypto-shredding.

Each field is sealed on its own, with a fresh 96-bit nonce and the person's id and the field's name
as associated data, so a sealed value copied into another person or field does not open. A sealed
value is the text ``enc1:`` + URL-safe base64 of nonce and ciphertext. Without the key (erased) it
can never be opened again.
"""

from __future__ import annotations

import base64
import binascii
import os

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

PREFIX = "enc1:"
KEY_BYTES = 32
NONCE_BYTES = 12


class SealBroken(Exception):
    """A sealed value does not open with the key it should: tampered with, or sealed for another field."""


def new_key() -> bytes:
    """A fresh random 256-bit key."""
    return AESGCM.generate_key(bit_length=KEY_BYTES * 8)


def _associated(subject: str, field: str) -> bytes:
    return f"{subject}\x1f{field}".encode()


def is_sealed(value: object) -> bool:
    """Whether ``value`` is a sealed text."""
    return isinstance(value, str) and value.startswith(PREFIX)


def seal(key: bytes, subject: str, field: str, plaintext: str) -> str:
    """``plaintext`` encrypted for ``field`` of ``subject``."""
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(key).encrypt(nonce, plaintext.encode(), _associated(subject, field))
    return PREFIX + base64.urlsafe_b64encode(nonce + sealed).decode("ascii")


def unseal(key: bytes, subject: str, field: str, sealed: str) -> str:
    """The plaintext of a value sealed by :func:`seal` for the same subject and field."""
    if not is_sealed(sealed):
        raise SealBroken(f"{field}: not a sealed value")
    try:
        raw = base64.urlsafe_b64decode(sealed[len(PREFIX) :].encode("ascii"))
        plaintext = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], _associated(subject, field))
    except (binascii.Error, ValueError, InvalidTag) as exc:
        raise SealBroken(f"{field}: the sealed value does not open") from exc
    return plaintext.decode()
