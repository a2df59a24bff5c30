"""Running a private copy of a model forward and backward, dropout off.

The explanations must not disturb the model they explain (its caches, its grads, the
trainer's next step), so each works on ``copy.deepcopy(model)``; dropout is the identity at
test time, so it is skipped both ways.
"""
from __future__ import annotations

import copy


def private_copy(model):
    return copy.deepcopy(model)


def forward(net, x):
    """Logits of x (N, C, H, W), every layer keeping its cache for backward."""
    for layer in net.layers:
        if layer.type_name != "Dropout":
            x = layer.forward(x, training=True)
    return x


def input_gradient(net, dlogits):
    """dL/dx: the engine's ``Sequential.input_gradient``, through the layers that ran."""
    if not any(layer.type_name == "Dropout" for layer in net.layers):
        return net.input_gradient(dlogits)
    for layer in reversed(net.layers):
        if layer.type_name != "Dropout":
            dlogits = layer.backward(dlogits)
    return dlogits
