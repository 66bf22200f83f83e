"""Test classes made per assignment or per model, so that pytest-xdist (``--dist
loadscope``, see ``./run``) can run each on a worker of its own with its class-scoped
fixtures."""

from __future__ import annotations

from typing import Any


def class_for(name: str, base: type, **attributes: Any) -> type:
    """A subclass of ``base`` named ``Test<Name>`` (``w1_broadcasting`` ->
    ``TestW1Broadcasting``) with ``attributes`` set, for a module to put in its globals."""
    title = "Test" + "".join(part.capitalize() for part in name.split("_"))
    return type(title, (base,), attributes)
