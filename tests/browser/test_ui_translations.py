"""Every name the server can hand the UI has a text in both languages: each permission and role (from
``crm_shared.identity``), each type of contact information and each kind, direction, state and
importance of an interaction. And no Bulgarian text doubles the dot of a date: ``Intl`` already ends
a Bulgarian date with "г." ("6.12.2026 г."), so "до {date}." would show "г.."."""

from __future__ import annotations

import re
from typing import get_args

import pytest
from tests.browser.test_ui_static_files import LANGUAGES, dictionary_folders

from crm_contacts.domain.contact_info import CONTACT_TYPES
from crm_interactions.domain import interaction
from crm_interactions.entrypoints.interactions_models import Direction, Importance
from crm_shared.identity import ROLES, Permission

ENTRY = re.compile(r"""^\s*(['"])([^'"]+)\1\s*:\s*\n?\s*(['"])(.*?)\3,?\s*$""", re.MULTILINE)
DATE_PLACEHOLDERS = ("date", "at", "on", "since", "until", "from", "to", "expired_on", "when")


def texts(language: str) -> dict[str, str]:
    """Every text of one language: the core's and every feature's dictionary, merged."""
    merged: dict[str, str] = {}
    for folder in dictionary_folders().values():
        source = (folder / f"{language}.js").read_text(encoding="utf-8")
        merged.update({match[2]: match[4] for match in ENTRY.finditer(source)})
    return merged


@pytest.mark.parametrize("language", LANGUAGES)
def test_every_name_the_server_can_return_has_a_text(language: str) -> None:
    known = texts(language)
    wanted = (
        [f"permission.{p.value}" for p in Permission]
        + [f"role.{r}" for r in ROLES]
        + [f"reference.value.type.{t}" for t in CONTACT_TYPES]
        + [f"ia.kind.{k}" for k in interaction.KINDS]
        + [f"ia.state.{s}" for s in interaction.STATES]
        + [f"ia.direction.{d}" for d in get_args(Direction)]
        + [f"ia.importance.{i}" for i in get_args(Importance)]
    )
    missing = [key for key in wanted if key not in known]
    assert not missing, f"{language}: no text for {missing}"


def test_the_dictionaries_are_read_whole() -> None:
    # The pattern above must see (almost) every key, or the other tests here would prove nothing.
    for language in LANGUAGES:
        assert len(texts(language)) > 500, language


def test_no_bulgarian_text_doubles_the_dot_after_a_date() -> None:
    doubled = [
        f"{key}: {text}"
        for key, text in texts("bg").items()
        if "г.." in text or any(f"{{{name}}}." in text for name in DATE_PLACEHOLDERS)
    ]
    assert not doubled, "a Bulgarian date already ends with 'г.':\n" + "\n".join(doubled)
