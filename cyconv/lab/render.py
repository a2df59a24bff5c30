"""Pure-NumPy picture making for the lab's views (no Qt here, so it is tested without a window).

Many small maps are tiled into one image here rather than drawn as many items, which is what
keeps a repaint cheap (ARCHITECTURE.md section 4). Two kinds of result:
- pictures in [0, 1] (`normalize`, `input_image`, `confusion_rates`), for one `ImageItem`
  with `levels=(0, 1)`;
- raw values tiled with NaN gaps (`filter_overview`, `filter_channels`, `tile(..., fill=nan)`),
  which `colorize` turns into RGB on explicit levels (`symmetric_levels`, `value_levels`), so
  one colour bar gives every tile's numbers.

Images are indexed `[row, column]` (or `[row, column, rgb]`), as the row-major ImageItems of
gui/widgets/images.py draw them.
"""
from __future__ import annotations

import math

import numpy as np

#: Value of the separator lines between tiles: mid grey, distinct from both ends of a colormap.
SEPARATOR = 0.5


def normalize(values: np.ndarray, *, symmetric: bool = False) -> np.ndarray:
    """Scale an array into [0, 1] as float32.

    min-max scaling by default. With `symmetric=True`, zero maps to 0.5 and the largest
    absolute value to 0 or 1, so the sign of a weight stays readable. A constant array maps to
    0.5 (there is no contrast to show), NaN and inf raise.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise ValueError(f"normalize: got an empty array of shape {values.shape}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"normalize: the array of shape {values.shape} holds NaN or inf values")
    if symmetric:
        peak = float(np.max(np.abs(values)))
        if peak == 0.0:
            return np.full(values.shape, 0.5, dtype=np.float32)
        return (0.5 + 0.5 * values / peak).astype(np.float32)
    low, high = float(values.min()), float(values.max())
    if high == low:
        return np.full(values.shape, 0.5, dtype=np.float32)
    return ((values - low) / (high - low)).astype(np.float32)


def grid_shape(count: int, columns: int | None = None) -> tuple[int, int]:
    """(rows, columns) for `count` tiles: near-square unless `columns` is given."""
    if count < 1:
        raise ValueError(f"grid_shape: need at least one tile, got count={count}")
    if columns is None:
        columns = math.ceil(math.sqrt(count))
    if columns < 1:
        raise ValueError(f"grid_shape: columns must be >= 1, got {columns}")
    columns = min(columns, count)
    return math.ceil(count / columns), columns


def tile(maps: np.ndarray, *, columns: int | None = None, gap: int = 1,
         fill: float = SEPARATOR) -> np.ndarray:
    """Lay `maps` (N, H, W) or (N, H, W, 3) out row by row in one image.

    Output shape: (rows*(H+gap) - gap, cols*(W+gap) - gap[, 3]); empty cells and the gaps
    between tiles hold `fill`. Values are copied as given (normalize first).
    """
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim not in (3, 4) or (maps.ndim == 4 and maps.shape[3] != 3):
        raise ValueError(f"tile: expected maps of shape (N, H, W) or (N, H, W, 3), got {maps.shape}")
    if gap < 0:
        raise ValueError(f"tile: gap must be >= 0, got {gap}")
    count, height, width = maps.shape[:3]
    rows, cols = grid_shape(count, columns)
    out_shape = (rows * (height + gap) - gap, cols * (width + gap) - gap) + maps.shape[3:]
    image = np.full(out_shape, fill, dtype=np.float32)
    for index in range(count):
        top = (index // cols) * (height + gap)
        left = (index % cols) * (width + gap)
        image[top:top + height, left:left + width] = maps[index]
    return image


def tile_matrix(maps: np.ndarray, *, gap: int = 1, fill: float = SEPARATOR) -> np.ndarray:
    """Lay a (R, K, H, W) block out as an R x K grid: row r, column k shows maps[r, k]."""
    maps = np.asarray(maps, dtype=np.float32)
    if maps.ndim != 4:
        raise ValueError(f"tile_matrix: expected (rows, columns, H, W), got shape {maps.shape}")
    rows, cols = maps.shape[:2]
    return tile(maps.reshape((rows * cols,) + maps.shape[2:]), columns=cols, gap=gap, fill=fill)


def input_image(x1: np.ndarray) -> np.ndarray:
    """A sample (C, H, W) as a picture: (H, W) grey for one channel, (H, W, 3) for RGB."""
    x1 = np.asarray(x1)
    if x1.ndim != 3 or x1.shape[0] not in (1, 3):
        raise ValueError(f"input_image: expected a (1|3, H, W) sample, got shape {x1.shape}")
    if x1.shape[0] == 1:
        return normalize(x1[0])
    return np.transpose(normalize(x1), (1, 2, 0))


def confusion_rates(confusion: np.ndarray) -> np.ndarray:
    """Row-normalized confusion matrix: rates[t, p] = share of class t predicted as p.

    Rows without samples are all zero. Input `confusion[true, predicted]` counts, (K, K).
    """
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"confusion_rates: expected a square (K, K) matrix, got {confusion.shape}")
    if np.any(confusion < 0):
        raise ValueError("confusion_rates: counts must be >= 0")
    totals = confusion.sum(axis=1, keepdims=True)
    rates = np.divide(confusion, totals, out=np.zeros_like(confusion), where=totals > 0)
    return rates.astype(np.float32)


def per_class_accuracy(confusion: np.ndarray) -> np.ndarray:
    """Diagonal over row sums of `confusion[true, predicted]`; NaN for a class with no samples."""
    confusion = np.asarray(confusion, dtype=np.float64)
    if confusion.ndim != 2 or confusion.shape[0] != confusion.shape[1]:
        raise ValueError(f"per_class_accuracy: expected a square (K, K) matrix, got {confusion.shape}")
    totals = confusion.sum(axis=1)
    accuracy = np.full(totals.shape, np.nan)
    np.divide(np.diag(confusion), totals, out=accuracy, where=totals > 0)
    return accuracy


def tile_hit(row: int, col: int, *, count: int, tile_hw: tuple[int, int], columns: int | None = None,
             gap: int = 1) -> tuple[int, int, int] | None:
    """Which tile and which pixel of it sits at image position (row, col) of a `tile` image.

    The inverse of `tile`'s layout: returns (tile index, row in tile, column in tile), or None
    for a gap, an empty cell or a position outside the image.
    """
    if row < 0 or col < 0:
        return None
    height, width = tile_hw
    rows, cols = grid_shape(count, columns)
    grid_row, in_row = divmod(int(row), height + gap)
    grid_col, in_col = divmod(int(col), width + gap)
    if in_row >= height or in_col >= width or grid_row >= rows or grid_col >= cols:
        return None
    index = grid_row * cols + grid_col
    return (index, in_row, in_col) if index < count else None


# -- pictures on a value scale: one colour scale per picture, with a colour bar beside it --------
#: Blue (negative), white (zero), red (positive): the end colours of ColorBrewer's RdBu.
_NEGATIVE, _ZERO, _POSITIVE = (33, 102, 172), (255, 255, 255), (178, 24, 43)
#: Colour of the gaps between tiles on a value scale: mid grey, not a colour of either map.
SEPARATOR_RGB = (0.55, 0.55, 0.55)


def diverging_lut(size: int = 256) -> np.ndarray:
    """A (size, 3) uint8 table from blue through white (the middle entry) to red."""
    if size < 3:
        raise ValueError(f"diverging_lut: need at least 3 entries, got {size}")
    t = np.linspace(-1.0, 1.0, size)[:, np.newaxis]
    zero, negative, positive = (np.asarray(c, dtype=np.float64) for c in (_ZERO, _NEGATIVE, _POSITIVE))
    colours = np.where(t < 0, zero + (negative - zero) * -t, zero + (positive - zero) * t)
    return np.rint(colours).astype(np.uint8)


def symmetric_levels(values: np.ndarray) -> tuple[float, float]:
    """(-m, m) with m the largest absolute finite value: zero sits in the middle of the scale.

    All zeros (or nothing finite) gives (-1, 1), so a scale always has a width.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    peak = float(np.max(np.abs(finite))) if finite.size else 0.0
    return (-peak, peak) if peak > 0 else (-1.0, 1.0)


def value_levels(values: np.ndarray) -> tuple[tuple[float, float], bool]:
    """The scale for maps of any sign: ((low, high), diverging).

    Values with a negative part get symmetric levels on the diverging map; non-negative values
    (after ReLU, pooling of them, probabilities) run from 0 to their maximum on a sequential map.
    """
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    if finite.size and float(finite.min()) < 0:
        return symmetric_levels(finite), True
    high = float(finite.max()) if finite.size else 0.0
    return (0.0, high if high > 0 else 1.0), False


def colorize(values: np.ndarray, levels: tuple[float, float], lut: np.ndarray) -> np.ndarray:
    """Map values through `lut` (K, 3) uint8 on `levels` (low, high): (...) -> (..., 3) float32 in [0, 1].

    Values outside the levels clip to the end colours; NaN (the gaps `tile` leaves with
    fill=NaN) becomes SEPARATOR_RGB.
    """
    low, high = float(levels[0]), float(levels[1])
    if not high > low:
        raise ValueError(f"colorize: levels must rise, got ({low}, {high})")
    lut = np.asarray(lut)
    if lut.ndim != 2 or lut.shape[1] != 3:
        raise ValueError(f"colorize: expected a (K, 3) colour table, got shape {lut.shape}")
    values = np.asarray(values, dtype=np.float64)
    missing = ~np.isfinite(values)
    scaled = (np.where(missing, low, values) - low) / (high - low)
    index = np.clip(np.rint(scaled * (lut.shape[0] - 1)), 0, lut.shape[0] - 1).astype(np.intp)
    rgb = lut[index].astype(np.float32) / 255.0
    rgb[missing] = SEPARATOR_RGB
    return rgb


def filter_overview(weights: np.ndarray, *, max_filters: int = 64, max_channels: int = 16,
                    gap: int = 1) -> np.ndarray:
    """A conv layer's weights (F, C, KH, KW) as raw values, one row per filter and one column per
    input channel (a single-channel layer: the filters in a near-square grid); gaps are NaN."""
    weights = _conv_weights(weights, "filter_overview")
    shown = weights[:max_filters, :max_channels]
    if shown.shape[1] == 1:
        return tile(shown[:, 0], gap=gap, fill=np.nan)
    return tile_matrix(shown, gap=gap, fill=np.nan)


def filter_channels(weights: np.ndarray, index: int, *, max_channels: int = 64, columns: int | None = None,
                    gap: int = 1) -> np.ndarray:
    """Filter `index`'s input channels (C, KH, KW) as raw values in a near-square grid; gaps are NaN."""
    weights = _conv_weights(weights, "filter_channels")
    if not 0 <= index < weights.shape[0]:
        raise ValueError(f"filter_channels: filter {index} does not exist, the layer has {weights.shape[0]}")
    return tile(weights[index, :max_channels], columns=columns, gap=gap, fill=np.nan)


def _conv_weights(weights: np.ndarray, where: str) -> np.ndarray:
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 4:
        raise ValueError(f"{where}: expected conv weights (F, C, KH, KW), got shape {weights.shape}")
    return weights


def tile_origins(count: int, tile_hw: tuple[int, int], *, columns: int | None = None,
                 gap: int = 1) -> list[tuple[int, int]]:
    """(top, left) image position of each of `count` tiles laid out by `tile` (for index labels)."""
    height, width = tile_hw
    _, cols = grid_shape(count, columns)
    return [((i // cols) * (height + gap), (i % cols) * (width + gap)) for i in range(count)]


def filter_picture(weights: np.ndarray) -> np.ndarray:
    """A conv layer's filters (F, C, KH, KW) as one RGB picture (H, W, 3) in [0, 1]: the overview
    of `filter_overview` on one symmetric blue-white-red scale (white is zero)."""
    weights = _conv_weights(weights, "filter_picture")
    return colorize(filter_overview(weights), symmetric_levels(weights), diverging_lut())


def maps_picture(maps: np.ndarray, *, max_maps: int = 64, columns: int | None = None) -> np.ndarray:
    """One sample's maps (C, H, W), each scaled on its own to [0, 1], tiled; a vector (D,) is
    one row 1 × D."""
    maps = np.asarray(maps, dtype=np.float64)
    if maps.ndim == 1:
        return normalize(maps[np.newaxis, :])
    if maps.ndim != 3:
        raise ValueError(f"maps_picture: expected (C, H, W) maps or a (D,) vector, got shape {maps.shape}")
    return tile(np.stack([normalize(m) for m in maps[:max_maps]]), columns=columns)
