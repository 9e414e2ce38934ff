"""The given/when/then helper every decider's tests read through: it passes what holds and fails, with a
diff, what does not."""

from __future__ import annotations

from dataclasses import dataclass, replace

import pytest

from crm_shared.errors import DomainError, NotFound
from crm_shared.events import DomainEvent
from crm_shared.testing import DeciderSpec, like


class Opened(DomainEvent):
    id: str
    name: str
    limit: int = 10


class Renamed(DomainEvent):
    id: str
    name: str


@dataclass(frozen=True)
class Account:
    id: str
    name: str
    renames: int = 0


@dataclass(frozen=True)
class Open:
    id: str
    name: str


@dataclass(frozen=True)
class Rename:
    name: str


def decide(command: Open | Rename, state: Account | None) -> list[DomainEvent]:
    if isinstance(command, Open):
        if not command.name.strip():
            raise DomainError("a name is needed", field="name")
        return [Opened(id=command.id, name=command.name.strip())]
    if state is None:
        raise NotFound("no such account")
    return [] if command.name == state.name else [Renamed(id=state.id, name=command.name)]


def evolve(state: Account | None, event: DomainEvent) -> Account | None:
    if isinstance(event, Opened):
        return Account(event.id, event.name)
    assert state is not None and isinstance(event, Renamed)
    return replace(state, name=event.name, renames=state.renames + 1)


spec = DeciderSpec(decide, evolve, None)
OPENED = Opened(id="a-1", name="Ivan")


def test_then_passes_on_the_same_events_in_order_and_chains() -> None:
    spec.given().when(Open("a-1", " Ivan ")).then(OPENED).then_state(Account("a-1", "Ivan"))
    spec.given(OPENED).when(Rename("Maria")).then(Renamed(id="a-1", name="Maria"))


def test_then_fails_with_a_diff_naming_the_field_that_differs() -> None:
    with pytest.raises(AssertionError) as failed:
        spec.given(OPENED).when(Rename("Maria")).then(Renamed(id="a-1", name="Petar"))
    message = str(failed.value)
    assert "decided other events than expected" in message
    assert "Rename(name='Maria')" in message
    assert "-    name='Petar'," in message and "+    name='Maria'," in message
    assert "     id='a-1'," in message  # the fields that agree are context, not differences


def test_then_fails_on_a_missing_or_an_extra_event() -> None:
    with pytest.raises(AssertionError, match=r"\+\[0\] Renamed"):
        spec.given(OPENED).when(Rename("Maria")).then()
    with pytest.raises(AssertionError, match=r"-\[1\] Renamed"):
        spec.given(OPENED).when(Rename("Maria")).then(Renamed(id="a-1", name="Maria"), Renamed(id="a-1", name="X"))


def test_then_fails_when_the_command_is_refused_and_shows_why() -> None:
    with pytest.raises(AssertionError, match=r"raised DomainError\('a name is needed', field='name'\)"):
        spec.given().when(Open("a-1", " ")).then(OPENED)


def test_like_matches_the_named_fields_only() -> None:
    spec.given().when(Open("a-1", "Ivan")).then(like(Opened, name="Ivan"))
    with pytest.raises(AssertionError) as failed:
        spec.given().when(Open("a-1", "Ivan")).then(like(Opened, name="Maria"))
    message = str(failed.value)
    assert "-    name='Maria'," in message and "+    name='Ivan'," in message
    assert "limit" not in message  # fields the test did not name are left out of the diff
    with pytest.raises(AssertionError):
        spec.given().when(Open("a-1", "Ivan")).then(like(Renamed, name="Ivan"))


def test_then_nothing() -> None:
    spec.given(OPENED).when(Rename("Ivan")).then_nothing()
    with pytest.raises(AssertionError, match="where none were expected"):
        spec.given(OPENED).when(Rename("Maria")).then_nothing()


def test_then_raises_checks_the_type_the_message_and_the_field() -> None:
    spec.given().when(Open("a-1", " ")).then_raises(DomainError, match="name is", field="name")
    spec.given().when(Rename("X")).then_raises(NotFound, field=None)
    spec.given().when(Rename("X")).then_raises(DomainError)  # a subclass will do
    with pytest.raises(AssertionError, match="not NotFound"):
        spec.given().when(Open("a-1", " ")).then_raises(NotFound)
    with pytest.raises(AssertionError, match="does not match"):
        spec.given().when(Open("a-1", " ")).then_raises(DomainError, match="forbidden")
    with pytest.raises(AssertionError, match="naming field 'name', not 'id'"):
        spec.given().when(Open("a-1", " ")).then_raises(DomainError, field="id")
    with pytest.raises(AssertionError, match="naming field 'name', not None"):
        spec.given().when(Open("a-1", " ")).then_raises(DomainError, field=None)
    with pytest.raises(AssertionError, match="decided events instead of raising DomainError"):
        spec.given().when(Open("a-1", "Ivan")).then_raises(DomainError)


def test_then_state_takes_a_value_or_a_predicate() -> None:
    renamed = spec.given(OPENED).when(Rename("Maria"))
    renamed.then_state(Account("a-1", "Maria", renames=1)).then_state(lambda s: s is not None and s.renames == 1)
    with pytest.raises(AssertionError) as failed:
        renamed.then_state(Account("a-1", "Maria"))
    assert "-    renames=0," in str(failed.value) and "+    renames=1," in str(failed.value)
    with pytest.raises(AssertionError, match="does not satisfy"):
        renamed.then_state(lambda s: s is None)


def test_then_state_of_the_given_events_alone() -> None:
    spec.given(OPENED, Renamed(id="a-1", name="Maria")).then_state(Account("a-1", "Maria", renames=1))
    spec.given().then_state(None)
    with pytest.raises(AssertionError):
        spec.given(OPENED).then_state(None)


def test_a_predicate_that_asserts_fails_with_its_own_message() -> None:
    def check(state: Account | None) -> None:
        assert state is not None and state.name == "Petar", "named Petar"

    with pytest.raises(AssertionError, match="named Petar"):
        spec.given(OPENED).then_state(check)


def test_like_stands_for_a_state_too_and_its_diff_shows_only_the_fields_it_names() -> None:
    spec.given(OPENED).then_state(like(Account, name="Ivan", renames=0))
    with pytest.raises(AssertionError) as failed:
        spec.given(OPENED).then_state(like(Account, renames=2))
    assert str(failed.value).endswith("-    renames=2,\n+    renames=0,\n )")
    with pytest.raises(AssertionError):
        spec.given().then_state(like(Account, name="Ivan"))  # None is no Account


def test_the_decided_events_carry_a_scenario_on() -> None:
    opened = spec.given().when(Open("a-1", "Ivan"))
    assert opened.events == [OPENED]
    spec.given(*opened.events).when(Rename("Ivan")).then_nothing()
    with pytest.raises(AssertionError, match="instead of deciding events"):
        _ = spec.given().when(Open("a-1", " ")).events
