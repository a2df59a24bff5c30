"""The model editor's text fields <-> layer configs (docs/design.md), without Qt.

A row of the editor holds short texts a student types: kernel "5" or "3x5", padding "1",
"1,2", "1,2,1,2", "same" or "valid", extras "p=0.5". This module parses them into the
engine's config dicts and back, and raises ValueError with the field and the accepted forms.

Channel and feature counts (in_channels, in_features) are never typed: they follow from the
previous layer (shapes.summarize and Sequential.from_config infer them). That way changing
one layer's filter count never breaks the next layer.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from cyconv import schema

#: Layer types the editor offers: every type of the schema, in its order.
EDITOR_TYPES = schema.LAYER_TYPES
POOL_TYPES = tuple(entry.type_name for entry in schema.specs() if entry.role == "pool")
ACTIVATION_TYPES = tuple(entry.type_name for entry in schema.specs()
                         if entry.role == "activation")


#: How error messages call the "units" column's value, per config key.
_UNIT_WORDS = {"out_channels": "filters", "out_features": "units"}


def _columns(layer_type: str) -> set[str]:
    return {key.column for key in schema.spec(layer_type).keys if key.column}


_INT_PATTERN = re.compile(r"^\s*\d+\s*$")


@dataclass
class RowSpec:
    """What one editor row holds: the type and the raw texts of its columns."""
    type: str
    units: str = ""
    kernel: str = ""
    stride: str = ""
    padding: str = ""
    mode: str = "zeros"
    extra: str = ""
    name: str | None = None
    # A block's (Residual's) inner layer configs, carried unchanged: the editor shows a block
    # as one row and does not edit inside it.
    inner: list | None = None


def columns_for(layer_type: str) -> set[str]:
    """The editor columns that matter for `layer_type` (the others are greyed out)."""
    if layer_type not in EDITOR_TYPES:
        raise ValueError(f"columns_for: unknown layer type {layer_type!r}; choose one of {EDITOR_TYPES}")
    return _columns(layer_type)


def describe(layer_type: str) -> str:
    """What a layer type does, its formula and its settings, from the schema (a tooltip)."""
    entry = schema.spec(layer_type)
    settings = [key.text for key in entry.keys if key.column]
    return "\n".join([f"{layer_type}: {entry.summary}", entry.formula, *settings])


def _split_numbers(text: str) -> list[str]:
    return [part for part in re.split(r"[\s,x×*]+", text.strip()) if part]


def parse_int(text: str, what: str, *, minimum: int = 1) -> int:
    """A whole number >= minimum from a text field."""
    if not _INT_PATTERN.match(text or ""):
        raise ValueError(f"{what}: expected a whole number, got {text!r}")
    value = int(text)
    if value < minimum:
        raise ValueError(f"{what}: must be at least {minimum}, got {value}")
    return value


def parse_pair(text: str, what: str, *, minimum: int = 1) -> list[int]:
    """'5' -> [5, 5]; '3x5', '3,5' or '3 5' -> [3, 5]."""
    parts = _split_numbers(text)
    if len(parts) not in (1, 2):
        raise ValueError(f"{what}: expected one number or two (height x width), got {text!r}")
    values = [parse_int(part, what, minimum=minimum) for part in parts]
    return values * 2 if len(values) == 1 else values


def parse_padding(text: str, what: str = "padding"):
    """'1' -> 1; '1,2' -> [1, 2]; '1,2,1,2' -> [1, 2, 1, 2]; 'same' / 'valid' as given."""
    stripped = (text or "").strip().lower()
    if stripped in ("same", "valid"):
        return stripped
    if stripped == "":
        return 0
    parts = _split_numbers(stripped)
    if len(parts) not in (1, 2, 4):
        raise ValueError(f"{what}: expected p, 'ph,pw', 'top,bottom,left,right', 'same' or 'valid', got {text!r}")
    values = [parse_int(part, what, minimum=0) for part in parts]
    return values[0] if len(values) == 1 else values


def _parse_value(text: str, key: str):
    lowered = text.strip().lower()
    if re.fullmatch(r"\d+x\d+", lowered):          # a pair such as dilation=2x1
        return [int(part) for part in lowered.split("x")]
    if lowered in ("true", "yes", "on"):
        return True
    if lowered in ("false", "no", "off"):
        return False
    try:
        return int(lowered) if _INT_PATTERN.match(lowered) else float(lowered)
    except ValueError:
        raise ValueError(f"{key}: expected a number or true/false, got {text!r}") from None


def parse_extra(text: str, layer_type: str) -> dict:
    """'p=0.5' or 'size=5, alpha=1e-4' -> dict, keys checked against the layer's schema."""
    allowed = [key.name for key in schema.spec(layer_type).keys if key.column == "extra"]
    result = {}
    for item in [part for part in re.split(r"[,;\s]+", (text or "").strip()) if part]:
        key, sep, value = item.partition("=")
        if not sep:
            raise ValueError(f"extra: write key=value (keys for {layer_type}: {', '.join(allowed) or 'none'}), "
                             f"got {item!r}")
        key = key.strip()
        if key not in allowed:
            raise ValueError(f"extra: {key!r} is not a {layer_type} setting; use {', '.join(allowed) or 'none'}")
        result[key] = _parse_value(value, key)
    return result


def _column_keys(layer_type: str) -> dict:
    """{column: config key} of the editor's dedicated columns (not "extra")."""
    return {key.column: key for key in schema.spec(layer_type).keys
            if key.column and key.column != "extra"}


def _stride_value(spec: RowSpec, key, kernel) -> list[int]:
    if spec.stride.strip():
        return parse_pair(spec.stride, "stride")
    # A blank stride means the schema's default; a pool's default is its window.
    default = kernel if key.default is None else key.default
    return [default, default] if isinstance(default, int) else list(default)


#: The column of each text field's parse error ("kernel: expected a whole number ...").
_FIELD_COLUMNS = {"filters": "units", "units": "units", "kernel": "kernel", "stride": "stride",
                  "padding": "padding", "extra": "extra"}


def error_column(spec: RowSpec, error: Exception) -> str:
    """The editor column a :func:`spec_to_config` error is about: the parsed field, or the
    column of the setting the schema's message names ("conv1: stride must be ...")."""
    head, _, rest = str(error).partition(": ")
    if head in _FIELD_COLUMNS:
        return _FIELD_COLUMNS[head]
    named = [key for key in schema.spec(spec.type).keys
             if key.column and rest.split(" ", 2)[:2].count(key.name)]
    return named[0].column if named else "extra"


def spec_to_config(spec: RowSpec) -> dict:
    """An editor row -> a config dict (without in_channels/in_features). Raises ValueError.

    The texts are parsed here; the values are checked by the schema, with the same messages
    as the shape table and the layer classes."""
    columns_for(spec.type)
    keys = _column_keys(spec.type)
    config = {"type": spec.type}
    if spec.name:
        config["name"] = spec.name
    if "units" in keys:
        what = _UNIT_WORDS.get(keys["units"].name, "units")
        config[keys["units"].name] = parse_int(spec.units, what)
    if "kernel" in keys:
        config["kernel_size"] = parse_pair(spec.kernel, "kernel")
    if "stride" in keys:
        config["stride"] = _stride_value(spec, keys["stride"], config.get("kernel_size"))
    if "padding" in keys:
        config["padding"] = parse_padding(spec.padding)
    if "mode" in keys:
        config[keys["mode"].name] = spec.mode
    if "extra" in columns_for(spec.type):
        config.update(parse_extra(spec.extra, spec.type))
    if spec.inner is not None:
        config["layers"] = [dict(inner) for inner in spec.inner]
    schema.check_config(config, schema.label(spec.name, spec.type))
    return config


def _pair_text(value) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[0]) if len(set(value)) == 1 else "x".join(str(v) for v in value)
    return str(value)


def config_to_spec(config: dict) -> RowSpec:
    """A config dict (e.g. from a preset) -> the editor's texts."""
    layer_type = config["type"]
    if layer_type not in EDITOR_TYPES:
        raise ValueError(f"config_to_spec: the editor cannot show layer type {layer_type!r}")
    spec = RowSpec(type=layer_type, name=config.get("name"))
    if "layers" in config:
        spec.inner = [dict(inner) for inner in config["layers"]]
    keys = _column_keys(layer_type)
    if "units" in keys:
        spec.units = str(config[keys["units"].name])
    if "kernel_size" in config:
        spec.kernel = _pair_text(config["kernel_size"])
    if "stride" in config and config["stride"] is not None:
        spec.stride = _pair_text(config["stride"])
    if "padding" in config:
        padding = config["padding"]
        spec.padding = padding if isinstance(padding, str) else (
            ",".join(str(p) for p in padding) if isinstance(padding, (list, tuple)) else str(padding))
    spec.mode = config.get("padding_mode", "zeros")
    extra_keys = {key.name: key for key in schema.spec(layer_type).keys if key.column == "extra"}
    extras = {k: v for k, v in config.items()
              if k in extra_keys and _pair_text(v) != _pair_text(extra_keys[k].default)}
    spec.extra = ", ".join(f"{k}={str(v).lower() if isinstance(v, bool) else _pair_text(v)}"
                           for k, v in extras.items())
    return spec


def parse_input_shape(text: str) -> tuple[int, ...]:
    """'1, 28, 28' or '1x28x28' -> (1, 28, 28); '1209' -> (1209,)."""
    parts = _split_numbers(text or "")
    if len(parts) not in (1, 3):
        raise ValueError(f"input shape: expected C, H, W (e.g. 1, 28, 28) or one size D, got {text!r}")
    return tuple(parse_int(part, "input shape") for part in parts)


def dense_comparison(input_shape, num_outputs: int, hidden: list[int]):
    """Configs of the dense-only network with the same input and output:
    Flatten (for an image input), then Dense layers with ReLU between them."""
    if num_outputs < 1:
        raise ValueError(f"dense_comparison: num_outputs must be >= 1, got {num_outputs}")
    configs = [{"type": "Flatten"}] if len(input_shape) == 3 else []
    for width in list(hidden) + [num_outputs]:
        configs.append({"type": "Dense", "out_features": int(width)})
        configs.append({"type": "ReLU"})
    return configs[:-1]
