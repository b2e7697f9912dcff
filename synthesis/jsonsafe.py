"""Plans as the SQL side reads them: values made JSON-safe (UUIDs and datetimes as text), and
a plan row's fields as a dict without ``dataclasses.asdict``'s deep copy."""

from __future__ import annotations

from dataclasses import fields
from datetime import datetime
from typing import Any
from uuid import UUID


def jsonable(value: Any) -> Any:
    """A value made JSON-safe for the SQL side: UUIDs and datetimes as text, recursively."""
    if isinstance(value, dict):
        return {k: jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if isinstance(value, UUID):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    return value


def shallow(row: Any) -> dict[str, Any]:
    """A dataclass row's fields as a dict, its values as they are (``jsonable`` builds new
    containers anyway, and plan rows are frozen)."""
    cls = type(row)
    names = _FIELDS.get(cls)
    if names is None:
        names = _FIELDS[cls] = tuple(f.name for f in fields(cls))
    return {name: getattr(row, name) for name in names}


_FIELDS: dict[type, tuple[str, ...]] = {}
