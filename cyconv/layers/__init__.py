"""The layers: each has ``params``/``grads``, ``forward(x, training=True)``,
``backward(dout) -> dx``, ``output_shape(input_shape)`` and ``config()``."""
import numpy as np

from .activations import Flatten, LeakyReLU, ReLU, Sigmoid, Softmax, Tanh
from .base import Layer
from .conv import Conv2D
from .dense import Dense
from .pool import AvgPool2D, MaxPool2D, MinPool2D
from .regularization import LRN, Dropout

LAYER_CLASSES = {cls.type_name: cls for cls in (
    Conv2D, MaxPool2D, AvgPool2D, MinPool2D, Dense, Flatten, ReLU, LeakyReLU, Sigmoid, Tanh,
    Softmax, Dropout, LRN)}

__all__ = ["Layer", "LAYER_CLASSES", "from_config"] + list(LAYER_CLASSES)


def from_config(config, *, rng=None, dtype=np.float32):
    """Build a layer from its config dict; ``rng`` initialises weights (and seeds Dropout)."""
    if not isinstance(config, dict) or "type" not in config:
        raise ValueError(f"a layer config must be a dict with a 'type', got {config!r}")
    kwargs = {k: v for k, v in config.items() if k != "type"}
    type_name = config["type"]
    try:
        cls = LAYER_CLASSES[type_name]
    except KeyError:
        raise ValueError(f"unknown layer type {type_name!r}; use one of "
                         f"{tuple(LAYER_CLASSES)}") from None
    if cls in (Conv2D, Dense):
        kwargs.update(rng=rng, dtype=dtype)
    elif cls is Dropout:
        kwargs.update(rng=rng)
    try:
        return cls(**kwargs)
    except TypeError as err:
        raise ValueError(f"bad config for {type_name}: {err}") from None
