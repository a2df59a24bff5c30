"""Keeping a step from corrupting the run: finite checks and the copy of the weights and
optimizer state taken before each update, restored when the update overflows or is so large
that the run has diverged even though every number is still finite."""
import numpy as np

__all__ = ["is_finite", "reports_non_finite", "UpdateSnapshot", "MAX_UPDATE_RATIO"]

#: An update that moves the weights by more than this many times their own size (as a whole,
#: in the L2 norm; a size below 1 counts as 1, so all-zero weights can start) is divergence.
#: A healthy step moves them by about 1e-3 of their size, an aggressive one by about 1; with a
#: learning rate of 1e30 the first step already leaves weights near 1e30, finite but useless,
#: and keeping the weights from before it is what lets a lower rate go on.
MAX_UPDATE_RATIO = 100.0


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
        self._n_params = len(arrays)
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

    def update_ratio(self):
        """|w_after − w_before| / max(|w_before|, 1) over all the weights (L2 norms), in float64."""
        moved = size = 0.0
        for live, saved in self._pairs[:self._n_params]:
            with np.errstate(over="ignore", invalid="ignore"):
                moved += float(np.sum(np.square(live - saved, dtype=np.float64)))
                size += float(np.sum(np.square(saved, dtype=np.float64)))
        return float(np.sqrt(moved) / max(np.sqrt(size), 1.0))
