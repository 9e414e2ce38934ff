"""Given events, when a command, then events: one way to unit-test every decider.

    spec = DeciderSpec(decide, evolve, None)
    spec.given(registered()).when(rename("X")).then(Renamed(id=ID, name="X"))
    spec.given().when(register(name=" ")).then_raises(DomainError, field="name")
    spec.given(registered()).when(rename("Same")).then_nothing()
    spec.given(registered()).when(archive()).then(Archived(id=ID)).then_state(like(Account, archived=True))
    spec.given(registered(), archived()).then_state(lambda state: state.archived)

The given events are folded with ``evolve`` from the initial state, the command is decided on the result
once, and each ``then…`` checks that outcome; a failure names the command and shows the expected and the
actual events as a diff, one field a line. ``like(EventType, field=value)`` stands for an event of that type
whose named fields have those values when the rest does not matter to the test (a state, too).

Plain ``AssertionError`` with its own message, so the kernel needs no test framework to import this.
"""

from __future__ import annotations

import dataclasses
import difflib
import pprint
import re
from collections.abc import Callable, Sequence
from typing import Any, Generic, TypeVar

from pydantic import BaseModel

C = TypeVar("C")
E = TypeVar("E")
S = TypeVar("S")

_ANY_FIELD: Any = object()


class Like:
    """An expected event of ``event_type`` (or a subclass) whose named fields equal the given values."""

    def __init__(self, event_type: type, **fields: Any) -> None:
        self.event_type = event_type
        self.fields = fields

    def matches(self, actual: object) -> bool:
        return isinstance(actual, self.event_type) and all(
            hasattr(actual, name) and getattr(actual, name) == value for name, value in self.fields.items()
        )

    def __eq__(self, other: object) -> bool:
        return self.matches(other)

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        named = "".join(f", {name}={value!r}" for name, value in self.fields.items())
        return f"like({self.event_type.__name__}{named})"


def like(event_type: type, **fields: Any) -> Like:
    """Stands for an event of ``event_type`` whose named fields have these values; the rest may be anything."""
    return Like(event_type, **fields)


class DeciderSpec(Generic[C, E, S]):
    """The decider under test: ``decide(command, state) -> events``, ``evolve(state, event) -> state``."""

    def __init__(self, decide: Callable[[C, S], Sequence[E]], evolve: Callable[[S, E], S], initial_state: S) -> None:
        self.decide = decide
        self.evolve = evolve
        self.initial_state = initial_state

    def given(self, *events: E) -> Given[C, E, S]:
        return Given(self, events)


class Given(Generic[C, E, S]):
    """The history the command meets."""

    def __init__(self, spec: DeciderSpec[C, E, S], events: Sequence[E]) -> None:
        self.spec = spec
        self.events = tuple(events)

    @property
    def state(self) -> S:
        return _fold(self.spec.evolve, self.spec.initial_state, self.events)

    def when(self, command: C) -> When[C, E, S]:
        return When(self, command)

    def then_state(self, expected: Any) -> Given[C, E, S]:
        """The state the given events fold into: equal to ``expected`` (which may be ``like(StateType, ...)``),
        or ``expected(state)`` holds."""
        __tracebackhide__ = True
        _check_state(expected, self.state, f"given {len(self.events)} event(s)")
        return self


class When(Generic[C, E, S]):
    """The command decided on the given history, once; each ``then…`` checks the outcome."""

    def __init__(self, given: Given[C, E, S], command: C) -> None:
        self._given = given
        self.command = command
        self._state = given.state
        self._events: list[E] | None = None
        self._error: BaseException | None = None
        try:
            self._events = list(given.spec.decide(command, self._state))
        except Exception as error:  # the then… step decides whether this was expected
            self._error = error

    def _decided(self) -> list[E]:
        __tracebackhide__ = True
        if self._error is not None:
            raise AssertionError(
                f"{self._what()} raised {_describe(self._error)} instead of deciding events"
            ) from self._error
        assert self._events is not None
        return self._events

    @property
    def events(self) -> list[E]:
        """The decided events, for a scenario that goes on from them: ``spec.given(*before, *step.events)``."""
        __tracebackhide__ = True
        return list(self._decided())

    def then(self, *expected: E | Like) -> When[C, E, S]:
        """Exactly these events, in this order (an item may be ``like(...)``)."""
        __tracebackhide__ = True
        actual = self._decided()
        if len(actual) != len(expected) or not all(_same(e, a) for e, a in zip(expected, actual, strict=False)):
            raise AssertionError(f"{self._what()} decided other events than expected\n{_diff(expected, actual)}")
        return self

    def then_nothing(self) -> When[C, E, S]:
        """No events: the command changes nothing."""
        __tracebackhide__ = True
        actual = self._decided()
        if actual:
            raise AssertionError(f"{self._what()} decided events where none were expected\n{_diff((), actual)}")
        return self

    def then_raises(
        self, error_type: type[BaseException], *, match: str | None = None, field: str | None = _ANY_FIELD
    ) -> None:
        """Refused with ``error_type`` (or a subclass); ``match`` is searched in the message (a regex) and
        ``field`` compared to the error's ``field`` (pass ``field=None`` to insist it names none)."""
        __tracebackhide__ = True
        what = self._what()
        error = self._error
        if error is None:
            raise AssertionError(
                f"{what} decided events instead of raising {error_type.__name__}\n{_diff((), self._events or [])}"
            )
        if not isinstance(error, error_type):
            raise AssertionError(f"{what} raised {_describe(error)}, not {error_type.__name__}") from error
        if match is not None and not re.search(match, str(error)):
            raise AssertionError(f"{what} raised {_describe(error)}: the message does not match {match!r}") from error
        if field is not _ANY_FIELD and getattr(error, "field", None) != field:
            raise AssertionError(
                f"{what} raised {_describe(error)} naming field {getattr(error, 'field', None)!r}, not {field!r}"
            ) from error

    def then_state(self, expected: Any) -> When[C, E, S]:
        """The state after the given and the decided events: equal to ``expected`` (which may be
        ``like(StateType, ...)``), or ``expected(state)`` holds: a predicate answering false fails, and a
        function that asserts and answers None will do too."""
        __tracebackhide__ = True
        state = _fold(self._given.spec.evolve, self._state, self._decided())
        _check_state(expected, state, self._what())
        return self

    def _what(self) -> str:
        return f"given {len(self._given.events)} event(s), {self.command!r}"


def _fold(evolve: Callable[[S, E], S], state: S, events: Sequence[E]) -> S:
    for event in events:
        state = evolve(state, event)
    return state


def _check_state(expected: Any, state: object, what: str) -> None:
    __tracebackhide__ = True
    if callable(expected) and not isinstance(expected, type):
        answer = expected(state)
        if answer is not None and not answer:
            raise AssertionError(f"{what}: the state does not satisfy the check\n{_render(state)}")
    elif not _same(expected, state):
        against = expected if isinstance(expected, Like) and isinstance(state, expected.event_type) else None
        diff = "\n".join(_unified(_render(expected).splitlines(), _render(state, against).splitlines()))
        raise AssertionError(f"{what}: the state is not the one expected\n{diff}")


def _same(expected: object, actual: object) -> bool:
    return expected.matches(actual) if isinstance(expected, Like) else expected == actual


def _describe(error: BaseException) -> str:
    field = getattr(error, "field", None)
    return f"{type(error).__name__}({str(error)!r}{f', field={field!r}' if field is not None else ''})"


def _fields(value: object) -> dict[str, Any] | None:
    if isinstance(value, BaseModel):
        return {name: getattr(value, name) for name in type(value).model_fields}
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: getattr(value, f.name) for f in dataclasses.fields(value)}
    return None


def _render(value: object, against: Like | None = None) -> str:
    """One field a line, so a diff points at the field that differs. An event set against ``like`` shows
    only the fields that ``like`` names, as ``like`` would."""
    if isinstance(value, Like):
        name, fields = f"like {value.event_type.__name__}", value.fields
    elif against is not None and (all_fields := _fields(value)) is not None:
        name = f"like {against.event_type.__name__}"
        fields = {k: all_fields.get(k, "<missing>") for k in against.fields}
    elif (all_fields := _fields(value)) is not None:
        name, fields = type(value).__name__, all_fields
    else:
        return pprint.pformat(value, width=100)
    body = "".join(f"    {k}={pprint.pformat(v, width=100)},\n" for k, v in fields.items())
    return f"{name}(\n{body})"


def _numbered(index: int, text: str) -> list[str]:
    first, *rest = text.splitlines()
    return [f"[{index}] {first}", *rest]


def _diff(expected: Sequence[object], actual: Sequence[object]) -> str:
    """Expected against actual, event by event, one field a line."""
    left = [line for index, want in enumerate(expected) for line in _numbered(index, _render(want))]
    right: list[str] = []
    for index, got in enumerate(actual):
        want = expected[index] if index < len(expected) else None
        against = want if isinstance(want, Like) and isinstance(got, want.event_type) else None
        right += _numbered(index, _render(got, against))
    return "\n".join(_unified(left, right)) or "(the same when rendered: compare their types and values)"


def _unified(left: list[str], right: list[str]) -> list[str]:
    context = max(len(left), len(right))
    return [line.rstrip("\n") for line in difflib.unified_diff(left, right, "expected", "actual", n=context)]
