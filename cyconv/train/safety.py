"""Keeping a step from corrupting the run: finite checks and the copy of the weights and
optimizer state taken before each update, restored when the update overflows."""
import numpy as np

__all__ = ["is_finite", "reports_non_finite", "UpdateSnapshot"]


def is_finite(array):
    """True if every element is finite."""
    # A single sum catches NaN and inf; the element-wise test runs only if the sum overflowed.
    with np.errstate(over="ignore", invalid="ignore"):
        return bool(np.isfinite(array.sum())) or bool(np.isfinite(array).all())


def reports_non_finite(error):
    """True for the ValueError functional.py raises when a layer meets NaN or inf values."""
    return "NaN or infinite" in str(error)


class UpdateSnapshot:
    """Preallocated copies of the weights and optimizer state, refreshed before each update.

    The loss and the gradients are checked before the update, so the copy only matters when
    finite gradients still overflow the weights (a huge learning rate). Refreshing it is one
    memcpy of the parameters and optimizer arrays: for the presets trained here well under 1 %
    of a step, against a forward and backward pass that are O(batch x parameters).
    """

    def __init__(self, model, optimizer):
        self.optimizer = optimizer
        arrays = [param for _, param, _ in model.parameters()]
        for by_name in getattr(optimizer, "state", {}).values():
            arrays.extend(by_name.values())
        self._pairs = [(live, np.empty_like(live)) for live in arrays]
        self._t = None

    def take(self):
        for live, saved in self._pairs:
            np.copyto(saved, live)
        self._t = getattr(self.optimizer, "t", None)

    def restore(self):
        for live, saved in self._pairs:
            np.copyto(live, saved)
        if self._t is not None:
            self.optimizer.t = self._t
