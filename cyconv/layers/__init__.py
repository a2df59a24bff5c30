"""The layers: each has ``params``/``grads``, ``forward(x, training=True)``,
``backward(dout) -> dx``, ``output_shape(input_shape)`` and ``config()``.

A layer class registers itself by its ``type_name`` (see :class:`Layer`); what its settings
are, their checks and defaults, is its entry in :mod:`cyconv.schema`.
"""
import numpy as np

from .. import schema
from .activations import ELU, Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import LAYER_CLASSES, Layer
from .conv import Conv2D
from .dense import Dense
from .norm import BatchNorm1D, BatchNorm2D
from .pool import AvgPool2D, GlobalAvgPool2D, MaxPool2D, MinPool2D
from .regularization import LRN, Dropout
from .residual import Residual

__all__ = ["AvgPool2D", "BatchNorm1D", "BatchNorm2D", "Conv2D", "Dense", "Dropout", "ELU", "Flatten", "GlobalAvgPool2D",
           "LAYER_CLASSES", "LRN", "Layer", "LeakyReLU", "MaxPool2D", "MinPool2D", "ReLU", "Residual", "Sigmoid", "Softmax", "Tanh",
           "from_config"]


def from_config(config, *, rng=None, dtype=np.float32):
    """Build a layer from its config dict; ``rng`` initialises weights (and seeds Dropout).

    A bad config gets the schema's message, the same as the shape table's.
    """
    name = config.get("name") if isinstance(config, dict) else None
    label = schema.label(name, config.get("type") if isinstance(config, dict) else None)
    entry = schema.check_type(config, label or "layer")
    values = {key: value for key, value in config.items() if key not in ("type", "name")}
    # Key names here (a config may hold any); the values are checked by the constructor.
    schema.check_key_names(entry, label, values, complete=True)
    extras = {"rng": rng, "dtype": dtype}
    cls = LAYER_CLASSES[entry.type_name]
    return cls(**values, name=name, **{key: extras[key] for key in cls.builds_with})
