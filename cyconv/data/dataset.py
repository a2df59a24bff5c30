"""``Dataset``: images, labels and class names that travel together.

Every loader returns one. The arrays follow the engine's conventions: images NCHW float32
(scaled to [0, 1] until ``normalized`` is applied), labels int64 class indices.
"""
from dataclasses import dataclass, replace

import numpy as np

# mean_std() walks the images in chunks so that MNIST (60,000 x 784) never needs a float64
# copy of the whole set (376 MB) just to compute two numbers per channel.
_STATS_CHUNK = 4096


def _check_generator(rng, where):
    if not isinstance(rng, np.random.Generator):
        raise TypeError(
            f"{where}: rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
            f"got {type(rng).__name__}"
        )


@dataclass(frozen=True, eq=False)
class Dataset:
    """A labelled image set.

    Attributes:
        images: float32 (or float64) array (N, C, H, W); in [0, 1] unless normalised.
        labels: int64 array (N,), each in ``range(len(classes))``.
        classes: human-readable class names, e.g. ``("T-shirt/top", ...)``; index = label.
        name: the dataset's name (one of ``data.DATASETS``).
        source: where the data came from (a path and how it was found, or the generator).
        normalization: ``None``, or ``(mean, std)`` per channel if ``normalized`` made it.

    The fields cannot be reassigned. ``subset``, ``split`` and ``normalized`` return new
    Datasets with new arrays and never modify this one.
    """

    images: np.ndarray
    labels: np.ndarray
    classes: tuple
    name: str
    source: str
    normalization: tuple = None

    def __post_init__(self):
        if not isinstance(self.images, np.ndarray) or self.images.ndim != 4:
            raise TypeError(
                "Dataset: images must be a 4-D numpy array (N, C, H, W), got "
                f"{type(self.images).__name__} with shape {getattr(self.images, 'shape', None)}"
            )
        if self.images.dtype not in (np.float32, np.float64):
            raise TypeError(f"Dataset: images must be float32 or float64, got {self.images.dtype}")
        if not isinstance(self.labels, np.ndarray) or self.labels.dtype != np.int64:
            raise TypeError(
                f"Dataset: labels must be an int64 numpy array, got "
                f"{type(self.labels).__name__} {getattr(self.labels, 'dtype', '')}"
            )
        if self.labels.shape != (self.images.shape[0],):
            raise ValueError(
                f"Dataset: labels shape {self.labels.shape} does not match images "
                f"{self.images.shape}; expected ({self.images.shape[0]},)"
            )
        classes = tuple(self.classes)
        if not classes or not all(isinstance(c, str) for c in classes):
            raise TypeError(f"Dataset: classes must be a non-empty sequence of str, got {self.classes!r}")
        object.__setattr__(self, "classes", classes)
        if self.labels.size and (self.labels.min() < 0 or self.labels.max() >= len(classes)):
            raise ValueError(
                f"Dataset: labels must lie in 0..{len(classes) - 1} (one per class), "
                f"found {self.labels.min()}..{self.labels.max()}"
            )

    def __len__(self):
        return int(self.images.shape[0])

    def __repr__(self):
        norm = "" if self.normalization is None else ", normalized"
        return (
            f"Dataset(name={self.name!r}, n={len(self)}, image_shape={self.image_shape}, "
            f"classes={len(self.classes)}{norm}, source={self.source!r})"
        )

    @property
    def image_shape(self):
        """(C, H, W) of one image: what the model's ``input_shape`` must be."""
        return tuple(int(s) for s in self.images.shape[1:])

    @property
    def num_classes(self):
        return len(self.classes)

    def subset(self, indices):
        """A new Dataset with the examples at ``indices`` (1-D ints), in that order (copies)."""
        index = np.asarray(indices)
        if index.ndim != 1 or not (index.size == 0 or np.issubdtype(index.dtype, np.integer)):
            raise TypeError(
                f"Dataset.subset: indices must be a 1-D sequence of ints, got shape "
                f"{index.shape} dtype {index.dtype}"
            )
        index = index.astype(np.intp, copy=False)
        if index.size and (index.min() < -len(self) or index.max() >= len(self)):
            raise IndexError(
                f"Dataset.subset: indices {index.min()}..{index.max()} out of range for "
                f"{len(self)} examples"
            )
        return replace(self, images=self.images[index], labels=self.labels[index])

    def split(self, val_fraction, rng):
        """Split into ``(train, val)`` at random, seeded by ``rng`` (not stratified).

        ``round(val_fraction * N)`` examples go to val; val is empty when the fraction is 0.
        """
        _check_generator(rng, "Dataset.split")
        if isinstance(val_fraction, bool) or not isinstance(val_fraction, (int, float)):
            raise TypeError(f"Dataset.split: val_fraction must be a number, got {val_fraction!r}")
        if not 0.0 <= val_fraction < 1.0:
            raise ValueError(f"Dataset.split: val_fraction must be in [0, 1), got {val_fraction}")
        n_val = int(round(val_fraction * len(self)))
        if val_fraction > 0 and not 0 < n_val < len(self):
            raise ValueError(
                f"Dataset.split: val_fraction={val_fraction} of {len(self)} examples gives "
                f"{n_val} for validation; need at least 1 for validation and 1 for training"
            )
        order = rng.permutation(len(self))
        return self.subset(np.sort(order[n_val:])), self.subset(np.sort(order[:n_val]))

    def mean_std(self):
        """Per-channel mean and (population) standard deviation: two float64 arrays (C,).

        Computed in float64 over chunks, two passes (mean first) for accuracy.
        """
        if len(self) == 0:
            raise ValueError(f"Dataset.mean_std: dataset {self.name!r} is empty")
        count = len(self) * self.images.shape[2] * self.images.shape[3]
        total = np.zeros(self.images.shape[1])
        for start in range(0, len(self), _STATS_CHUNK):
            chunk = self.images[start:start + _STATS_CHUNK]
            total += chunk.sum(axis=(0, 2, 3), dtype=np.float64)
        mean = total / count
        squares = np.zeros_like(mean)
        for start in range(0, len(self), _STATS_CHUNK):
            chunk = self.images[start:start + _STATS_CHUNK].astype(np.float64)
            chunk -= mean[None, :, None, None]
            squares += np.einsum("nchw,nchw->c", chunk, chunk)
        return mean, np.sqrt(squares / count)

    def normalized(self, mean, std):
        """A new Dataset with ``(images - mean) / std`` per channel; mean, std: (C,) or scalars.

        Use the *training* split's ``mean_std()`` for every split, so that validation and
        test data are transformed exactly like the data the model learned from.
        """
        if self.normalization is not None:
            raise ValueError(
                f"Dataset.normalized: dataset {self.name!r} is already normalised "
                f"(mean={self.normalization[0]}, std={self.normalization[1]})"
            )
        channels = self.images.shape[1]
        mean_c = self._per_channel(mean, "mean", channels)
        std_c = self._per_channel(std, "std", channels)
        if np.any(std_c <= 0):
            raise ValueError(f"Dataset.normalized: std must be > 0 for every channel, got {std_c}")
        dtype = self.images.dtype
        images = self.images - mean_c.astype(dtype)[None, :, None, None]
        images /= std_c.astype(dtype)[None, :, None, None]
        norm = (tuple(float(m) for m in mean_c), tuple(float(s) for s in std_c))
        return replace(self, images=images, normalization=norm)

    @staticmethod
    def _per_channel(value, what, channels):
        array = np.asarray(value, dtype=np.float64).reshape(-1)
        if array.size == 1:
            array = np.repeat(array, channels)
        if array.shape != (channels,) or not np.all(np.isfinite(array)):
            raise ValueError(
                f"Dataset.normalized: {what} must be a finite scalar or {channels} values "
                f"(one per channel), got {value!r}"
            )
        return array
