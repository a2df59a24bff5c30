"""One entry per layer type: its settings, name prefix, shape rule, parameters and formula.

Every part of cyconv that needs to know what a layer type is reads it here: the layer classes
(their constructors' checks and ``config()``), the shape table (:mod:`cyconv.shapes`), the
introspection views, the PyTorch and ONNX export, the lab's model editor and the benchmarks.
A layer's bad setting is therefore refused by the same check, with the same message, wherever
it comes from. Pure Python (standard library only): importing it loads no compiled code.

>>> spec("Conv2D").prefix, spec("Conv2D").key("kernel_size").required
('conv', True)
>>> check_config({"type": "Dropout", "p": 0.25}, "dropout1")
{'p': 0.25}
"""
from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass, field

from .checks import describe

__all__ = ["REQUIRED", "Key", "LayerSpec", "ShapeError", "Op", "LAYER_TYPES", "check_config",
           "check_key_names", "check_type", "label", "register", "settings", "spec", "specs"]


class ShapeError(ValueError):
    """A layer's geometry is invalid: the message names the layer, the shapes and the formula."""


class _Required:
    def __repr__(self):
        return "REQUIRED"


REQUIRED = _Required()


@dataclass(frozen=True)
class Key:
    """One setting of a layer type.

    ``check`` (a :class:`cyconv.schema.checks.Check`) validates a value and returns its normal
    form; ``default`` is :data:`REQUIRED` when the config must give it. ``inferred`` keys
    (in_channels, in_features) may be left out of a config: they follow from the previous
    layer's output. ``column`` is the model editor's column for it ("units", "kernel",
    "stride", "padding", "mode"; "extra" for key=value text; None for inferred keys).
    """

    name: str
    check: object
    default: object = REQUIRED
    inferred: bool = False
    column: str | None = "extra"
    help: str = ""

    @property
    def required(self):
        return self.default is REQUIRED and not self.inferred

    @property
    def text(self):
        """What the key accepts and its default, for the editor and the docs."""
        default = "" if self.default is REQUIRED else f" (default {self.default!r})"
        return f"{self.name}: {self.check.text}{default}"


@dataclass(frozen=True)
class Op:
    """A PyTorch module or ONNX operator computing a layer: ``name`` (``torch.nn.<name>`` or
    the ONNX op type), ``keys`` mapping its argument names to the layer's settings, and
    ``constants`` for fixed arguments."""

    name: str
    keys: Mapping = field(default_factory=dict)
    constants: Mapping = field(default_factory=dict)

    def arguments(self, layer_settings):
        args = {arg: layer_settings[key] for arg, key in self.keys.items()}
        args.update(self.constants)
        return args


@dataclass(frozen=True)
class LayerSpec:
    """Everything about one layer type that is not its arithmetic.

    ``shape_rule``: how the output shape follows from the input ("conv", "pool", "global_pool", "dense",
    "flatten", or "same" for layers that keep the shape). ``needs``: "image", "vector" or
    "any" input, with ``needs_text`` naming the layer in that message and ``needs_advice``
    saying what to put before it. ``role``: what its output is ("conv", "activation", "pool",
    "norm", "dropout", "dense", "flatten", "softmax"). ``param_shapes(settings, input_shape)``
    gives {"W": shape, "b": shape} (only the arrays the layer has; the first counts as weights, the
    rest as biases, e.g. batch norm's gamma and beta) and ``param_factors`` the
    factors of the weight count in the order the formula prints them. ``formula`` is the rule
    as text. ``torch`` / ``onnx`` are an :class:`Op`, or a word ("conv", "pool", "dense",
    "lrn", "identity") naming the exporter's special builder. ``rules`` are checks across
    keys: ``rule(settings, layer)`` raises on a bad combination.
    """

    type_name: str
    prefix: str
    keys: tuple = ()
    shape_rule: str = "same"
    needs: str = "any"
    needs_text: str = ""
    needs_advice: str = ""
    role: str = "activation"
    formula: str = ""
    summary: str = ""
    param_shapes: object = None
    param_factors: object = None
    torch: object = None
    onnx: object = None
    rules: tuple = ()

    def key(self, name):
        for item in self.keys:
            if item.name == name:
                return item
        raise KeyError(f"{self.type_name} has no key {name!r}")

    @property
    def key_names(self):
        return tuple(item.name for item in self.keys)

    @property
    def has_params(self):
        return self.param_shapes is not None

    @property
    def inferred_keys(self):
        return tuple(item.name for item in self.keys if item.inferred)


_SPECS: dict = {}


def register(entry):
    """Add a layer type (one :class:`LayerSpec`); its type name must be new."""
    if entry.type_name in _SPECS:
        raise ValueError(f"layer type {entry.type_name!r} is already in the schema")
    _SPECS[entry.type_name] = entry
    return entry


def specs():
    """Every :class:`LayerSpec`, in the schema's order (the model editor's order)."""
    return tuple(_SPECS.values())


def label(name, type_name):
    """How messages name a layer: its name, or its type before it has one."""
    return name if name else type_name


def check_type(config, layer):
    """The :class:`LayerSpec` of a config's "type", or a message listing the known types."""
    if not isinstance(config, Mapping):
        raise TypeError(f"{layer}: a layer config must be a dict, got {describe(config)}")
    kind = config.get("type")
    known = ", ".join(_SPECS)
    if kind is None:
        raise ValueError(f"{layer}: the config has no 'type'; known types: {known}")
    if not isinstance(kind, str):
        raise TypeError(f"{layer}: the layer 'type' must be a string such as 'Conv2D', got "
                        f"{describe(kind)}")
    if kind not in _SPECS:
        hint = difflib.get_close_matches(kind, tuple(_SPECS), n=1)
        did_you_mean = f" (did you mean {hint[0]!r}?)" if hint else ""
        raise ValueError(f"{layer}: unknown layer type {kind!r}{did_you_mean}; known types: "
                         f"{known}")
    return _SPECS[kind]


def spec(type_name):
    """The :class:`LayerSpec` of ``type_name`` (raises ValueError for an unknown type)."""
    return check_type({"type": type_name}, type_name)


def check_key_names(entry, layer, values, *, complete=False):
    """Unknown or missing keys of ``values`` for ``entry`` raise ``ValueError`` naming
    ``layer`` (the first step of :func:`settings`)."""
    unknown = sorted(str(key) for key in values if key not in entry.key_names)
    if unknown:
        names = ", ".join(entry.key_names) or "none"
        raise ValueError(f"{layer}: {entry.type_name} has no key(s) {', '.join(unknown)}; its "
                         f"keys are {names} (plus 'type' and 'name')")
    missing = [item.name for item in entry.keys
               if (item.required or (complete and item.inferred)) and values.get(item.name) is None]
    if missing:
        raise ValueError(f"{layer}: {entry.type_name} needs {', '.join(missing)}")


def settings(type_name, layer, values, *, complete=False):
    """Check every setting of a ``type_name`` layer and fill in the defaults.

    ``values`` maps key -> value (``None`` counts as not given for optional keys); unknown
    keys, missing required keys, bad values and bad combinations raise ``ValueError`` or
    ``TypeError`` naming ``layer``. Returns {key: normal form} for every key; an inferred key
    that was not given is None, unless ``complete`` (a layer object, which must know its
    input size) makes it required.
    """
    entry = spec(type_name)
    check_key_names(entry, layer, values, complete=complete)
    result = {}
    for item in entry.keys:
        value = values.get(item.name)
        if value is None and not item.required:
            value = None if item.inferred or item.default is None else item.default
            result[item.name] = value if value is None else item.check(value, item.name, layer)
        else:
            result[item.name] = item.check(value, item.name, layer)
    for rule in entry.rules:
        rule(result, layer)
    return result


def check_config(config, layer):
    """:func:`settings` of a config dict ({"type": ..., "name": ..., keys ...})."""
    entry = check_type(config, layer)
    values = {key: value for key, value in config.items() if key not in ("type", "name")}
    return settings(entry.type_name, layer, values)


from . import entries  # noqa: E402,F401  (registers the layer types)

LAYER_TYPES = tuple(_SPECS)
