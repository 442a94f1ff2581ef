"""Plain record classes for the modules every short command loads (`agentbook eval list`, confinement,
redaction): fields in `__slots__`, equality, a repr and, frozen, a hash and no assignment.

Why not `dataclasses`: importing it imports `inspect` (and with it `ast`, `dis`, `tokenize`), and each
decorated class is compiled from generated source; together about 9 ms, a quarter of what a warm
`agentbook eval list` costs above the interpreter's own start. Modules off that path use `dataclasses`.
A subclass lists its fields in `__slots__` and assigns them all in its own `__init__`.
"""

from __future__ import annotations

TYPE_CHECKING = False  # `typing` at run time would cost the start-up this module exists to save
if TYPE_CHECKING:
    from typing import Any, Self


class Record:
    """Fields are the `__slots__` of the class and its bases, in that order."""

    __slots__: tuple[str, ...] = ()

    def _fields(self) -> tuple[str, ...]:
        names: list[str] = []
        for cls in reversed(type(self).__mro__):
            names += getattr(cls, "__slots__", ())
        return tuple(names)

    def _values(self) -> tuple[Any, ...]:
        return tuple(getattr(self, name) for name in self._fields())

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        return self._values() == other._values()

    __hash__ = None  # type: ignore[assignment]  # mutable: unhashable, as a dataclass with eq is

    def __repr__(self) -> str:
        fields = ", ".join(f"{name}={getattr(self, name)!r}" for name in self._fields())
        return f"{type(self).__name__}({fields})"

    def __reduce__(self) -> tuple[Any, ...]:
        """Pickled and copied by field name (a frozen record refuses the `setattr` the default uses)."""
        return _rebuild, (type(self), {name: getattr(self, name) for name in self._fields()})

    def replace(self, **changes: Any) -> Self:
        """A copy with `changes` applied (`dataclasses.replace`)."""
        copy = object.__new__(type(self))
        for name in self._fields():
            object.__setattr__(copy, name, changes.pop(name) if name in changes else getattr(self, name))
        if changes:
            raise TypeError(f"{type(self).__name__} has no field {min(changes)!r}")
        return copy


class FrozenRecord(Record):
    """A record whose fields are set once, in `__init__` (through `_set`): hashable, like a frozen dataclass."""

    __slots__ = ()

    def _set(self, **values: Any) -> None:
        for name, value in values.items():
            object.__setattr__(self, name, value)

    def __setattr__(self, name: str, value: Any) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot assign {name!r}")

    def __delattr__(self, name: str) -> None:
        raise AttributeError(f"{type(self).__name__} is frozen: cannot delete {name!r}")

    def __hash__(self) -> int:  # type: ignore[override]
        return hash(self._values())


def _rebuild(cls: type[Record], values: dict[str, Any]) -> Record:
    record = object.__new__(cls)
    for name, value in values.items():
        object.__setattr__(record, name, value)
    return record
