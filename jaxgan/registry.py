"""Builds a component from a config subtree `{name, **fields}`: the name picks the builder in a
registry, the fields are its keyword arguments, and a mistake is one line naming the valid ones."""

from __future__ import annotations

import inspect
from collections.abc import Callable, Mapping


def build(kind: str, registry: Mapping[str, Callable], fields, **context):
    """`registry[fields.name](**fields, **context)`; `kind` names the subtree in errors.

    Raises ValueError for an unknown name, an unknown field, or a missing one.
    """
    fields = dict(fields.to_dict() if hasattr(fields, "to_dict") else fields)
    name = fields.pop("name", None)
    if name not in registry:
        raise ValueError(
            f"unknown {kind}.name {name!r}; valid: {', '.join(sorted(registry))}"
        )
    builder = registry[name]
    params = inspect.signature(builder).parameters
    accepted = [p for p in params if p not in context]
    unknown = sorted(set(fields) - set(accepted))
    if unknown:
        raise ValueError(
            f"{kind}.{unknown[0]}: no such field for {kind} {name!r}; "
            f"valid: {', '.join(['name', *accepted])}"
        )
    required = [p for p in accepted if params[p].default is inspect.Parameter.empty]
    missing = [p for p in required if p not in fields]
    if missing:
        raise ValueError(f"{kind}.{missing[0]}: required by {kind} {name!r}")
    return builder(**fields, **context)
