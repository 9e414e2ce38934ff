"""Given events, when a command, then events (or a refusal): the user decider."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from crm_gateway.domain import user as u
from crm_shared.errors import AlreadyExists, DomainError, NotFound
from crm_shared.testing import DeciderSpec, like

NOW = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ID = "u-1"
spec = DeciderSpec(u.decide, u.evolve, None)


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
    spec.given().when(create()).then(
        created(),
        u.RolesGranted(user_id=ID, roles=["sales_manager"]),
        u.AccessGroupsGranted(user_id=ID, groups=["sofia"]),
    )


def test_create_without_grants_grants_nothing() -> None:
    spec.given().when(create(roles=frozenset(), groups=frozenset())).then(created())


def test_create_twice_is_refused() -> None:
    spec.given(created()).when(create()).then_raises(AlreadyExists)


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
    spec.given().when(create(**overrides)).then_raises(DomainError, field=field)


def test_password_policy_names_the_field() -> None:
    with pytest.raises(DomainError) as refused:
        u.check_password("short", field="new_password")
    assert refused.value.field == "new_password"
    u.check_password("ten chars!")
    with pytest.raises(DomainError):
        u.check_password("x" * (u.MAX_PASSWORD_LENGTH + 1))


def test_update_emits_only_what_changed() -> None:
    user = spec.given(created(), u.RolesGranted(user_id=ID, roles=["sales_manager"]))
    user.when(u.UpdateUser(ID, NOW, name="Иван", roles=frozenset({"sales_manager"}), groups=frozenset({"varna"}))).then(
        u.AccessGroupsGranted(user_id=ID, groups=["varna"])
    )
    user.when(u.UpdateUser(ID, NOW, language="en")).then(u.ProfileChanged(user_id=ID, name="Иван", language="en"))


def test_roles_granted_is_the_full_set() -> None:
    spec.given(created(), u.RolesGranted(user_id=ID, roles=["sales_manager", "marketer"])).when(
        u.UpdateUser(ID, NOW, roles=frozenset({"read_only"}))
    ).then(u.RolesGranted(user_id=ID, roles=["read_only"])).then_state(like(u.User, roles={"read_only"}))


def test_lock_and_unlock() -> None:
    until = NOW + timedelta(minutes=15)

    def locked_until_then(state: u.State) -> None:
        assert state is not None and state.is_locked(NOW) and not state.is_locked(until)

    locked = spec.given(created(), u.UserLocked(user_id=ID, reason="5 failed sign-ins in a row", until=until))
    locked.then_state(locked_until_then)
    locked.when(u.UpdateUser(ID, NOW, locked=False)).then(u.UserUnlocked(user_id=ID))
    # Locking a user already locked changes nothing; an expired timed lock can be replaced.
    locked.when(u.UpdateUser(ID, NOW, locked=True)).then_nothing()
    locked.when(u.UpdateUser(ID, until, locked=True)).then(
        u.UserLocked(user_id=ID, reason="locked by an administrator", until=None)
    )
    spec.given(created()).when(u.LockUser(ID, "why", until)).then(u.UserLocked(user_id=ID, reason="why", until=until))


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
    owner = spec.given(
        created(),
        u.RolesGranted(user_id=ID, roles=["sales_manager"]),
        u.AccessGroupsGranted(user_id=ID, groups=["sofia"]),
    )
    owner.when(issue()).then(like(u.ApiKeyIssued, roles=["read_only"], secret_sha256="ab" * 32))
    # Export is not the owner's to give.
    owner.when(issue(roles=frozenset({"marketer"}))).then_raises(DomainError, field="roles")
    owner.when(issue(groups=frozenset({"varna"}))).then_raises(DomainError, field="groups")
    owner.when(issue(groups=frozenset({"varna"}), all_groups=True)).then(like(u.ApiKeyIssued, key_id="k1"))


def test_revoke_an_api_key_once() -> None:
    read_only = u.RolesGranted(user_id=ID, roles=["read_only"])
    issued = spec.given(created(), read_only).when(issue(groups=frozenset())).events
    revoked = u.ApiKeyRevoked(user_id=ID, key_id="k1")

    def the_key_is_revoked(state: u.State) -> None:
        assert state is not None and state.api_keys["k1"].revoked

    with_key = spec.given(created(), read_only, *issued)
    with_key.when(u.RevokeApiKey(ID, "k1")).then(revoked).then_state(the_key_is_revoked)
    spec.given(created(), read_only, *issued, revoked).when(u.RevokeApiKey(ID, "k1")).then_nothing()
    with_key.when(u.RevokeApiKey(ID, "nope")).then_raises(NotFound)


def test_commands_on_a_missing_user_are_refused() -> None:
    spec.given().when(u.ChangePassword(ID, "$argon2id$x")).then_raises(NotFound)


def test_streams() -> None:
    assert u.stream_of("x") == "user-x"
    assert u.username_stream("Ivan.P") == "username-ivan.p"
    assert u.audit_stream(NOW) == "audit-2026-03-02"
