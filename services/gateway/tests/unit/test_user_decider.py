"""Given events, when a command, then events (or a refusal): the user decider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_gateway.domain import user as u
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.events import DomainEvent

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ID = "u-1"


def created(**overrides: object) -> u.UserCreated:
    fields: dict[str, object] = {
        "user_id": ID,
        "username": "ivan",
        "name": "Иван",
        "password_hash": "$argon2id$h",
        "language": "bg",
        "created_at": NOW,
    }
    fields.update(overrides)
    return u.UserCreated.model_validate(fields)


def given(*events: DomainEvent) -> u.State:
    state: u.State = None
    for event in events:
        state = u.evolve(state, event)
    return state


def create(**overrides: object) -> u.CreateUser:
    fields: dict[str, object] = {
        "user_id": ID,
        "username": "ivan",
        "name": "  Иван  ",
        "password_hash": "$argon2id$h",
        "roles": frozenset({"sales_manager"}),
        "groups": frozenset({"sofia"}),
        "language": "bg",
        "now": NOW,
    }
    fields.update(overrides)
    return u.CreateUser(**fields)  # type: ignore[arg-type]


def test_create_records_the_user_then_each_grant() -> None:
    assert u.decide(create(), None) == [
        created(),
        u.RolesGranted(user_id=ID, roles=["sales_manager"]),
        u.AccessGroupsGranted(user_id=ID, groups=["sofia"]),
    ]


def test_create_without_grants_grants_nothing() -> None:
    assert u.decide(create(roles=frozenset(), groups=frozenset()), None) == [created()]


def test_create_twice_is_refused() -> None:
    with pytest.raises(AlreadyExists):
        u.decide(create(), given(created()))


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"username": "a"}, "username"),
        ({"username": "has space"}, "username"),
        ({"username": "-leading"}, "username"),
        ({"name": "   "}, "name"),
        ({"roles": frozenset({"superuser"})}, "roles"),
        ({"groups": frozenset({""})}, "groups"),
    ],
)
def test_create_refuses_bad_fields_by_name(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(DomainError) as refused:
        u.decide(create(**overrides), None)
    assert refused.value.field == field


def test_password_policy_names_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        u.check_password("short", field="new_password")
    assert refused.value.field == "new_password"
    u.check_password("ten chars!")
    with pytest.raises(DomainError):
        u.check_password("x" * (u.MAX_PASSWORD_LENGTH + 1))


def test_update_emits_only_what_changed() -> None:
    state = given(created(), u.RolesGranted(user_id=ID, roles=["sales_manager"]))
    command = u.UpdateUser(ID, NOW, name="Иван", roles=frozenset({"sales_manager"}), groups=frozenset({"varna"}))
    assert u.decide(command, state) == [u.AccessGroupsGranted(user_id=ID, groups=["varna"])]
    assert u.decide(u.UpdateUser(ID, NOW, language="en"), state) == [
        u.ProfileChanged(user_id=ID, name="Иван", language="en")
    ]


def test_roles_granted_is_the_full_set() -> None:
    state = given(created(), u.RolesGranted(user_id=ID, roles=["sales_manager", "marketer"]))
    events = u.decide(u.UpdateUser(ID, NOW, roles=frozenset({"read_only"})), state)
    assert events == [u.RolesGranted(user_id=ID, roles=["read_only"])]
    after = u.evolve(state, events[0])
    assert after is not None and after.roles == {"read_only"}


def test_lock_and_unlock() -> None:
    until = NOW + timedelta(minutes=15)
    state = given(created(), u.UserLocked(user_id=ID, reason="5 failed sign-ins in a row", until=until))
    assert state is not None and state.is_locked(NOW) and not state.is_locked(until)
    assert u.decide(u.UpdateUser(ID, NOW, locked=False), state) == [u.UserUnlocked(user_id=ID)]
    # Locking a user already locked changes nothing; an expired timed lock can be replaced.
    assert u.decide(u.UpdateUser(ID, NOW, locked=True), state) == []
    assert u.decide(u.UpdateUser(ID, until, locked=True), state) == [
        u.UserLocked(user_id=ID, reason="locked by an administrator", until=None)
    ]
    assert u.decide(u.LockUser(ID, "why", until), given(created())) == [
        u.UserLocked(user_id=ID, reason="why", until=until)
    ]


def issue(**overrides: object) -> u.IssueApiKey:
    fields: dict[str, object] = {
        "user_id": ID,
        "key_id": "k1",
        "name": "ERP",
        "secret_sha256": "ab" * 32,
        "roles": frozenset({"read_only"}),
        "groups": frozenset({"sofia"}),
        "all_groups": False,
        "now": NOW,
    }
    fields.update(overrides)
    return u.IssueApiKey(**fields)  # type: ignore[arg-type]


def test_an_api_key_gets_at_most_its_owners_permissions_and_groups() -> None:
    owner = given(
        created(),
        u.RolesGranted(user_id=ID, roles=["sales_manager"]),
        u.AccessGroupsGranted(user_id=ID, groups=["sofia"]),
    )
    [issued] = u.decide(issue(), owner)
    assert isinstance(issued, u.ApiKeyIssued) and issued.roles == ["read_only"] and issued.secret_sha256 == "ab" * 32
    with pytest.raises(DomainError) as refused:
        u.decide(issue(roles=frozenset({"marketer"})), owner)  # export is not the owner's to give
    assert refused.value.field == "roles"
    with pytest.raises(DomainError) as refused:
        u.decide(issue(groups=frozenset({"varna"})), owner)
    assert refused.value.field == "groups"
    assert u.decide(issue(groups=frozenset({"varna"}), all_groups=True), owner)


def test_revoke_an_api_key_once() -> None:
    [issued] = u.decide(issue(groups=frozenset()), given(created(), u.RolesGranted(user_id=ID, roles=["read_only"])))
    state = given(created(), u.RolesGranted(user_id=ID, roles=["read_only"]), issued)
    assert u.decide(u.RevokeApiKey(ID, "k1"), state) == [u.ApiKeyRevoked(user_id=ID, key_id="k1")]
    revoked = u.evolve(state, u.ApiKeyRevoked(user_id=ID, key_id="k1"))
    assert revoked is not None and revoked.api_keys["k1"].revoked
    assert u.decide(u.RevokeApiKey(ID, "k1"), revoked) == []
    with pytest.raises(NotFound):
        u.decide(u.RevokeApiKey(ID, "nope"), state)


def test_commands_on_a_missing_user_are_refused() -> None:
    with pytest.raises(NotFound):
        u.decide(u.ChangePassword(ID, "$argon2id$x"), None)


def test_streams() -> None:
    assert u.stream_of("x") == "user-x"
    assert u.username_stream("Ivan.P") == "username-ivan.p"
    assert u.audit_stream(NOW) == "audit-2026-03-02"
