"""The filters' evolution as an animated GIF (Pillow), for a report: one frame per recorded
moment, every filter of one conv layer in a grid, each frame scaled to its own range so a
filter's shape shows while its size changes."""
from __future__ import annotations

import math

import numpy as np

from .._files import atomic_write

__all__ = ["filter_grid", "filters_gif"]

GAP = 1                      # pixels between tiles (at scale 1)


def filter_grid(weights) -> np.ndarray:
    """(F, C, KH, KW) weights as one uint8 picture: a grid of tiles, RGB (H, W, 3) when C is
    3, else grey (H, W) of the channels' mean; 128 is zero, 0 and 255 the largest |w|."""
    weights = np.asarray(weights, dtype=np.float64)
    if weights.ndim != 4:
        raise ValueError(f"filter_grid: weights must be (F, C, KH, KW), got shape {weights.shape}")
    tiles = weights.transpose(0, 2, 3, 1) if weights.shape[1] == 3 else weights.mean(axis=1)
    peak = float(np.max(np.abs(tiles))) or 1.0
    tiles = np.clip(np.rint(127.5 + 127.5 * tiles / peak), 0, 255).astype(np.uint8)
    count, height, width = tiles.shape[:3]
    columns = math.ceil(math.sqrt(count))
    rows = math.ceil(count / columns)
    grid = np.full((rows * (height + GAP) - GAP, columns * (width + GAP) - GAP, *tiles.shape[3:]), 255, np.uint8)
    for index, tile in enumerate(tiles):
        top, left = (index // columns) * (height + GAP), (index % columns) * (width + GAP)
        grid[top:top + height, left:left + width] = tile
    return grid


def filters_gif(history, path, layer: str | None = None, *, scale: int = 8, frame_ms: int = 150) -> int:
    """Write ``layer``'s filters (the first conv layer's by default) at every moment of
    ``history`` (cyconv.monitor.History) to ``path`` as a looping GIF; returns the number of
    moments drawn (Pillow merges identical consecutive frames into one longer frame)."""
    from PIL import Image

    moments = history.moments
    if not moments or not moments[0].filters:
        raise ValueError("filters_gif: the history holds no filters (train a network with a conv layer first)")
    layer = layer or next(iter(moments[0].filters))
    if layer not in moments[0].filters:
        raise ValueError(f"filters_gif: no conv layer {layer!r}; the history has {tuple(moments[0].filters)}")
    frames = []
    for moment in moments:
        picture = Image.fromarray(filter_grid(moment.filters[layer]))
        frames.append(picture.resize((picture.width * scale, picture.height * scale), Image.Resampling.NEAREST))
    atomic_write(path, lambda handle: frames[0].save(handle, format="GIF", save_all=True, append_images=frames[1:],
                                                    duration=frame_ms, loop=0))
    return len(frames)
