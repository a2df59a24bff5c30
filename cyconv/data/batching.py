"""Mini-batches: one call of ``batches`` is one epoch, a permutation without replacement."""
import numpy as np

from .dataset import Dataset, _check_generator


def _check_batch_size(batch_size, where):
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) or batch_size < 1:
        raise ValueError(f"{where}: batch_size must be a positive int, got {batch_size!r}")


def batch_count(n, batch_size, *, drop_last=False):
    """How many batches an epoch of ``n`` examples gives: ceil(n / B), or floor with drop_last."""
    _check_batch_size(batch_size, "batch_count")
    return n // batch_size if drop_last else -(-n // batch_size)


def batches(ds, batch_size, rng, *, shuffle=True, drop_last=False):
    """Yield ``(x, y)`` for one epoch: x (B, C, H, W) float, y (B,) int64, fresh arrays.

    With ``shuffle`` the order is ``rng.permutation(N)``: every example appears exactly once
    per epoch, and the same generator state gives the same order (pass the same
    ``numpy.random.Generator`` every epoch for a new, reproducible order each time). Without
    ``shuffle`` the order is 0..N-1 and ``rng`` may be None. The last batch is smaller
    unless ``drop_last`` drops it.
    """
    if not isinstance(ds, Dataset):
        raise TypeError(f"batches: ds must be a cyconv.data.Dataset, got {type(ds).__name__}")
    _check_batch_size(batch_size, "batches")
    if shuffle or rng is not None:
        _check_generator(rng, "batches")
    order = rng.permutation(len(ds)) if shuffle else np.arange(len(ds))
    stop = batch_count(len(ds), batch_size, drop_last=drop_last) * batch_size
    for start in range(0, min(stop, len(ds)), batch_size):
        index = order[start:start + batch_size]
        yield ds.images[index], ds.labels[index]
