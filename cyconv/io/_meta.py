"""The checkpoint's metadata JSON: parsed with a depth limit, every field's type checked, and
the declared architecture held to the budgets and to the stored arrays before a model is built.
"""
import json
import numbers

import numpy as np

from .. import shapes
from ._layout import FORMAT, MAX_JSON_DEPTH, MAX_LAYERS, MAX_PARAMETERS, META_KEY, CheckpointError

__all__ = ["parse_meta", "check_meta", "check_arrays_fit"]

_BLOCKS = ("normalization", "dataset", "training", "trainer_state", "history", "evaluation",
           "extra", "optimizer")


def _depth(value):
    """Nesting depth of JSON data, iteratively (a hostile file cannot exhaust the stack)."""
    deepest, pending = 0, [(value, 1)]
    while pending:
        item, depth = pending.pop()
        deepest = max(deepest, depth)
        if depth > MAX_JSON_DEPTH:
            return depth
        if isinstance(item, dict):
            pending.extend((child, depth + 1) for child in item.values())
        elif isinstance(item, list):
            pending.extend((child, depth + 1) for child in item)
    return deepest


def parse_meta(path, text, readable_versions):
    """The metadata dict; CheckpointError unless it is a cyconv checkpoint of a known version."""
    try:
        meta = json.loads(text)
    except json.JSONDecodeError as error:
        raise CheckpointError(f"{path}: the '{META_KEY}' entry is not valid JSON ({error})") \
            from None
    except RecursionError:
        raise CheckpointError(f"{path}: the '{META_KEY}' entry nests deeper than "
                              f"{MAX_JSON_DEPTH} levels; the file is damaged or hostile") from None
    if _depth(meta) > MAX_JSON_DEPTH:
        raise CheckpointError(f"{path}: the '{META_KEY}' entry nests deeper than "
                              f"{MAX_JSON_DEPTH} levels; the file is damaged or hostile")
    if not isinstance(meta, dict) or meta.get("format") != FORMAT:
        raise CheckpointError(f"{path}: not a cyconv checkpoint (format "
                              f"{meta.get('format') if isinstance(meta, dict) else None!r})")
    if meta.get("version") not in readable_versions:
        raise CheckpointError(f"{path}: checkpoint version {meta.get('version')!r}; this cyconv "
                              f"reads versions {', '.join(map(str, readable_versions))}")
    return meta


def _require(path, condition, what):
    if not condition:
        raise CheckpointError(f"{path}: the checkpoint's {what}; the file is damaged")


def _is_count(value):
    return isinstance(value, int) and not isinstance(value, bool) and value >= 0


def _check_model_config(path, config):
    _require(path, isinstance(config, dict), "'model' is not a dict")
    input_shape, layers = config.get("input_shape"), config.get("layers")
    _require(path, isinstance(input_shape, list) and 1 <= len(input_shape) <= 3
             and all(_is_count(v) and v >= 1 for v in input_shape),
             "input shape is not 1 to 3 positive ints")
    _require(path, isinstance(layers, list), "'model.layers' is not a list")
    if len(layers) > MAX_LAYERS:
        raise CheckpointError(f"{path}: the model declares {len(layers)} layers, more than the "
                              f"{MAX_LAYERS} a checkpoint may hold")
    _require(path, all(isinstance(layer, dict) and isinstance(layer.get("type"), str)
                       for layer in layers), "layers are not all dicts with a 'type'")


def _check_optimizer(path, saved):
    if saved is None:
        return
    _require(path, isinstance(saved.get("name"), str) and _is_count(saved.get("t"))
             and isinstance(saved.get("hyperparameters"), dict)
             and isinstance(saved.get("config"), dict)
             and isinstance(saved.get("state_names"), dict), "optimizer entry is malformed")
    _require(path, all(isinstance(names, list) and all(isinstance(n, str) for n in names)
                       for names in saved["state_names"].values()),
             "optimizer state names are not lists of names")


def check_meta(path, meta):
    """Every field the reader uses has the type it expects (CheckpointError otherwise)."""
    _check_model_config(path, meta.get("model"))
    _require(path, isinstance(meta.get("dtype", "float32"), str)
             and meta.get("dtype", "float32") in ("float32", "float64"),
             "dtype is not float32 or float64")
    names = meta.get("param_names")
    _require(path, isinstance(names, list) and all(isinstance(n, str) for n in names),
             "'param_names' is not a list of names")
    buffers = meta.get("buffer_names")
    _require(path, buffers is None or (isinstance(buffers, list)
                                       and all(isinstance(n, str) for n in buffers)),
             "'buffer_names' is not a list of names")
    declared = meta.get("param_shapes")
    if declared is not None:
        _require(path, isinstance(declared, list) and len(declared) == len(names)
                 and all(isinstance(s, list) and all(_is_count(v) for v in s) for s in declared),
                 "'param_shapes' does not list one shape per parameter")
    for block in _BLOCKS:
        _require(path, meta.get(block) is None or isinstance(meta[block], dict),
                 f"'{block}' entry is neither an object nor empty")
    _check_optimizer(path, meta.get("optimizer"))


def _declared_parameters(path, config):
    """Parameters the architecture asks for, from the shape rules alone (nothing allocated)."""
    try:
        rows = shapes.layer_rows([dict(c) for c in config["layers"]],
                                 tuple(config["input_shape"]), partial=False)
    except (ValueError, TypeError, KeyError) as error:
        raise CheckpointError(f"{path}: the saved model cannot be rebuilt: {error}") from None
    return sum(row.params for row in rows)


def check_arrays_fit(path, meta, headers):
    """The declared architecture and the stored arrays agree, and stay within the budget.

    headers: {member name: (shape, dtype)} of the arrays, read from their .npy headers.
    """
    declared = _declared_parameters(path, meta["model"])
    if declared > MAX_PARAMETERS:
        raise CheckpointError(f"{path}: the model declares {declared} parameters, more than "
                              f"the {MAX_PARAMETERS} a checkpoint may hold")
    shapes_by_name = meta.get("param_shapes") or [None] * len(meta["param_names"])
    stored = 0
    for name, shape in zip(meta["param_names"], shapes_by_name):
        key = f"param/{name}"
        if key not in headers:
            raise CheckpointError(f"{path}: the checkpoint is incomplete: '{key}' is missing")
        array_shape, dtype = headers[key]
        _require(path, dtype.kind == "f", f"parameter {name} is not a float array")
        if shape is not None and tuple(shape) != array_shape:
            raise CheckpointError(f"{path}: parameter {name} is declared {tuple(shape)} but "
                                  f"stored {array_shape}; the file is damaged")
        stored += int(np.prod(array_shape, dtype=np.int64))
    if stored != declared:
        raise CheckpointError(f"{path}: the model's layers need {declared} parameters but the "
                              f"file stores {stored}; the file is damaged")


def as_number(value):
    """A JSON number as float, or None."""
    return float(value) if isinstance(value, numbers.Real) and not isinstance(value, bool) \
        else None
