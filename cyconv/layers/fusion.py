"""Which neighbouring layers a model runs as one kernel pass, and how.

Max pooling commutes with ReLU: max over a window of max(x, 0) is max(max over the window of
x, 0). So a ReLU directly followed by a MaxPool2D runs as one pass of the pooling kernel,
which clamps each value at 0 as it loads it (exactly the ReLU kernel's expression, so the
values, the ties and the padding are those of the two layers one after the other, bit for
bit) and never writes the ReLU's full-size output. Backward sends each window's gradient to
its pick only where the pooled maximum is above 0, which is the ReLU's own gradient there.

Only the exact classes are fused (a subclass may change what either does), and never a layer
whose ``forward`` was replaced on the instance (a timer, a probe). ``Sequential.forward_trace``
never fuses: the app's views read every layer's output.
"""
from .activations import ReLU
from .pool import MaxPool2D

__all__ = ["fusable", "plan_steps"]


def _plain(layer, cls):
    return type(layer) is cls and "forward" not in vars(layer) and "backward" not in vars(layer)


def fusable(first, second):
    """Whether ``first`` then ``second`` can run as one kernel pass."""
    return _plain(first, ReLU) and _plain(second, MaxPool2D)


def plan_steps(layers, fuse=True):
    """The forward pass as steps: (index,) for one layer, (index, index + 1) for a fused pair."""
    steps, index = [], 0
    while index < len(layers):
        if fuse and index + 1 < len(layers) and fusable(layers[index], layers[index + 1]):
            steps.append((index, index + 1))
            index += 2
        else:
            steps.append((index,))
            index += 1
    return steps
