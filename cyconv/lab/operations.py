"""Named questions a view can ask of the session, answered in the thread that owns the model.

A part of the lab adds an operation with ``@operation("name")`` on a function
``f(session, *args) -> answer`` (a read-only snapshot); the app's worker runs
``run(name, session, *args)`` between training steps and sends the answer to the view that
asked, so a new view needs no change to the session or to the worker. Notebooks call
``run`` directly, or the function itself.
"""
from __future__ import annotations

from .errors import LabError

_OPERATIONS: dict = {}


def operation(name: str):
    """Register ``f(session, *args)`` under ``name`` (once: a second registration is a bug)."""
    def register(function):
        if name in _OPERATIONS:
            raise RuntimeError(f"cyconv.lab.operations: {name!r} is registered twice")
        _OPERATIONS[name] = function
        return function
    return register


def names() -> tuple:
    """Every registered operation, in registration order."""
    return tuple(_OPERATIONS)


def run(name: str, session, *args):
    """The answer of operation ``name`` on ``session``; LabError when the session has no model
    to answer with."""
    if name not in _OPERATIONS:
        raise KeyError(f"cyconv.lab.operations: no operation {name!r}; there are {names()}")
    if session.model is None:
        raise LabError("train.no_run")
    return _OPERATIONS[name](session, *args)
