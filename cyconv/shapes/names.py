"""Default layer names: an explicit "name" wins, else the type's prefix and a counter."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from .. import schema
from ..schema.checks import describe

__all__ = ["check_configs", "default_names", "explicit_name", "plan_names"]


def _name_prefix(config):
    kind = config.get("type") if isinstance(config, Mapping) else None
    if not isinstance(kind, str) or not kind:
        return "layer"
    if kind in schema.LAYER_TYPES:
        return schema.spec(kind).prefix
    return kind.lower()


def explicit_name(config):
    return config.get("name") if isinstance(config, Mapping) else None


def _name_problem(name, taken):
    if not isinstance(name, str) or not name.strip():
        return f"a layer name must be a non-empty string, got {describe(name)}"
    if "." in name:
        return (f"layer name {name!r} cannot contain '.': parameters are named "
                f"'<layer>.<key>', e.g. 'conv1.W'")
    if name in taken:
        return f"layer name {name!r} is used twice"
    return None


def plan_names(configs):
    """[(name, problem or None)] per config: explicit names win, the others count per prefix.

    The counter of a prefix advances only for layers without a given name and skips names
    that are already taken, so names are always unique.
    """
    plan = [None] * len(configs)
    taken = set()
    for index, config in enumerate(configs):
        name = explicit_name(config)
        if name is None:
            continue
        problem = _name_problem(name, taken)
        plan[index] = (str(name) if problem else name, problem)
        if not problem:
            taken.add(name)
    counters = {}
    for index, config in enumerate(configs):
        if plan[index] is not None:
            continue
        prefix = _name_prefix(config)
        while True:
            counters[prefix] = counters.get(prefix, 0) + 1
            candidate = f"{prefix}{counters[prefix]}"
            if candidate not in taken:
                break
        taken.add(candidate)
        plan[index] = (candidate, None)
    return plan


def check_configs(configs):
    if isinstance(configs, (str, bytes, Mapping)) or not isinstance(configs, Sequence):
        raise TypeError(f"configs must be a list of layer config dicts, got {describe(configs)}")
    return list(configs)


def default_names(configs):
    """The layer names of docs/design.md: explicit ``"name"`` wins, else type + counter.

    The prefix is the schema's: ``Conv2D`` -> conv, the pools -> pool, ``Dense`` -> dense,
    ``LRN`` -> norm, ``LeakyReLU`` -> lrelu, relu, flatten, softmax, dropout, ...

    >>> default_names([{"type": "Conv2D"}, {"type": "ReLU"}, {"type": "MaxPool2D"},
    ...                {"type": "Conv2D", "name": "last"}, {"type": "Conv2D"}])
    ['conv1', 'relu1', 'pool1', 'last', 'conv2']

    Raises ``ValueError`` for an empty, duplicated or dotted explicit name.
    """
    plan = plan_names(check_configs(configs))
    for index, (_, problem) in enumerate(plan):
        if problem:
            raise ValueError(f"layer {index}: {problem}")
    return [name for name, _ in plan]

