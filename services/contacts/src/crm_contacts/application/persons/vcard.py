"""A person's card as a vCard 4.0 (RFC 6350)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

_GENDER_SEX = {"female": "F", "male": "M", "unspecified": "U"}


def vcard_escape(text: str) -> str:
    """A text value escaped per RFC 6350 §3.4: backslash, comma, semicolon and line breaks."""
    return (
        text.replace("\\", "\\\\")
        .replace(",", "\\,")
        .replace(";", "\\;")
        .replace("\r\n", "\\n")
        .replace("\n", "\\n")
        .replace("\r", "\\n")
    )


def vcard_fold(line: str) -> str:
    """One content line folded at 75 octets (RFC 6350 §3.2), never inside a UTF-8 character."""
    parts: list[str] = []
    current, size, limit = "", 0, 75
    for char in line:
        width = len(char.encode())
        if size + width > limit:
            parts.append(current)
            current, size, limit = "", 0, 74  # continuation lines begin with a space
        current += char
        size += width
    parts.append(current)
    return "\r\n ".join(parts)


def to_vcard(card: Mapping[str, Any]) -> str:
    """A person's card as a vCard 4.0 (RFC 6350), lines ending in CRLF."""
    esc = vcard_escape
    lines = ["BEGIN:VCARD", "VERSION:4.0", f"UID:urn:uuid:{card['id']}", f"FN:{esc(card['display_name'])}"]
    name = [card.get("last_name"), card.get("first_name"), card.get("middle_name")]
    lines.append("N:" + ";".join(esc(part or "") for part in name) + ";;")
    if card.get("birth_date"):
        lines.append(f"BDAY:{str(card['birth_date']).replace('-', '')}")
    if card.get("gender") in _GENDER_SEX:
        lines.append(f"GENDER:{_GENDER_SEX[card['gender']]}")
    for entry in card.get("contact_info", []):
        value = entry.get("value")
        if not value:
            continue
        pref = ";PREF=1" if entry.get("main") else ""
        kind = f";TYPE={esc(str(entry['kind']))}" if entry.get("kind") else ""
        match entry.get("type"):
            case "phone":
                lines.append(f"TEL;VALUE=uri{pref}{kind}:tel:{value}")
            case "email":
                lines.append(f"EMAIL{pref}{kind}:{esc(value)}")
            case "web":
                lines.append(f"URL{pref}{kind}:{value}")
            case "address":
                lines.append(f"ADR{pref}{kind}:;;{esc(value)};;;;")
            case _:
                lines.append(f"NOTE:{esc(value)}")
    for link in card.get("links", []):
        if link.get("counterparty_name"):
            lines.append(f"ORG:{esc(link['counterparty_name'])}")
        if link.get("position"):
            lines.append(f"TITLE:{esc(link['position'])}")
        if link.get("role"):
            lines.append(f"ROLE:{esc(link['role'])}")
    if card.get("description"):
        lines.append(f"NOTE:{esc(card['description'])}")
    lines.append("END:VCARD")
    return "".join(vcard_fold(line) + "\r\n" for line in lines)
