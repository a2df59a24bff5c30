"""The embedded dataset: procedural shapes that need no files.

Ten shape classes are drawn at a random position, size, rotation and stroke thickness, with a
random foreground/background level, Gaussian noise and a few bright distractor pixels. The
position and rotation change which pixels light up, so a dense network (one weight per
pixel) has to memorise every placement, while a CNN's shared filters find the same edges and
corners anywhere: a small CNN reaches > 95 % and a dense network of similar size does worse.

Rendering is vectorised: every shape is a *signed distance function* (SDF) evaluated on a
coordinate grid for a whole group of images at once (negative inside, positive outside, in
pixels), and ``clip(0.5 - d, 0, 1)`` turns it into an anti-aliased coverage in [0, 1].
"""
import numpy as np

from .dataset import Dataset

SHAPE_CLASSES = (
    "circle", "ring", "square", "frame", "triangle",
    "cross", "line", "corner", "tee", "half-disk",
)

# Geometry is specified for 28x28 and scaled by size / 28.
_BASE_SIZE = 28.0
_SIZE_RANGE = (5.0, 10.0)          # the shape's "radius" s, in pixels at 28x28
_THICKNESS_RANGE = (1.6, 3.0)      # stroke width t, in pixels at 28x28
_MAX_THICKNESS_OF_SIZE = 0.45      # keeps the hole of a thick ring/frame visible
_EXTENT_OF_SIZE = 1.15             # every shape fits in a disc of radius 1.15 s
_FOREGROUND = (0.6, 1.0)
_BACKGROUND = (0.0, 0.3)
_RGB_FOREGROUND = (0.5, 1.0)       # per channel; always brighter than any background channel
_RGB_BACKGROUND = (0.0, 0.35)
_NOISE_SIGMA = (0.03, 0.12)
_DISTRACTORS = (2, 6)              # inclusive range of stray bright pixels per image
_DISTRACTOR_LEVEL = (0.5, 1.0)

MIN_SIZE, MAX_SIZE = 16, 256


def _box(u, v, half_u, half_v):
    """Exact SDF of an axis-aligned rectangle with half-sizes (half_u, half_v)."""
    qu = np.abs(u) - half_u
    qv = np.abs(v) - half_v
    outside = np.hypot(np.maximum(qu, 0), np.maximum(qv, 0))
    inside = np.minimum(np.maximum(qu, qv), 0)
    return outside + inside


def _circle(u, v, s, t):
    return np.hypot(u, v) - 0.85 * s


def _ring(u, v, s, t):
    return np.abs(np.hypot(u, v) - 0.8 * s) - t / 2


def _square(u, v, s, t):
    return _box(u, v, 0.72 * s, 0.72 * s)


def _frame(u, v, s, t):
    half = 0.72 * s - t / 2
    return np.abs(_box(u, v, half, half)) - t / 2


def _triangle(u, v, s, t):
    # Equilateral, circumradius 1.05 s, centroid at the origin: the largest of the three
    # edge-normal projections minus the inradius (exact inside, a close bound outside).
    apothem = 0.525 * s
    d = None
    for angle in (-np.pi / 2, np.pi / 6, 5 * np.pi / 6):
        projection = u * np.cos(angle) + v * np.sin(angle)
        d = projection if d is None else np.maximum(d, projection)
    return d - apothem


def _cross(u, v, s, t):
    return np.minimum(_box(u, v, s, t / 2), _box(u, v, t / 2, s))


def _line(u, v, s, t):
    return _box(u, v, 1.05 * s, t / 2)


def _corner(u, v, s, t):
    # Two arms of length L from a vertex placed so that the L's centroid is at the origin.
    arm = 1.3 * s
    vertex = -arm / 4
    along_u = _box(u - (vertex + arm / 2), v - vertex, arm / 2 + t / 2, t / 2)
    along_v = _box(u - vertex, v - (vertex + arm / 2), t / 2, arm / 2 + t / 2)
    return np.minimum(along_u, along_v)


def _tee(u, v, s, t):
    bar = _box(u, v + 0.5 * s, s, t / 2)
    stem = _box(u, v - 0.2 * s, t / 2, 0.7 * s)
    return np.minimum(bar, stem)


def _half_disk(u, v, s, t):
    # The centroid of a half disc lies 4R/(3 pi) ~ 0.42 R from its flat edge.
    w = v + 0.42 * s
    return np.maximum(np.hypot(u, w) - s, -w)


_SDF = (_circle, _ring, _square, _frame, _triangle, _cross, _line, _corner, _tee, _half_disk)


def _check_args(n, size, rgb, seed):
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"synthetic: n must be a positive int, got {n!r}")
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
        raise TypeError(f"synthetic: size must be an int, got {size!r}")
    if not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(f"synthetic: size must be in {MIN_SIZE}..{MAX_SIZE} pixels, got {size}")
    if not isinstance(rgb, bool):
        raise TypeError(f"synthetic: rgb must be True or False, got {rgb!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"synthetic: seed must be a non-negative int, got {seed!r}")


def _draw_parameters(rng, n, size, channels):
    """Every random choice for n images, drawn up front in a fixed order (determinism)."""
    scale = size / _BASE_SIZE
    labels = rng.permutation(np.arange(n) % len(SHAPE_CLASSES)).astype(np.int64)
    s = rng.uniform(*_SIZE_RANGE, n) * scale
    t = np.minimum(rng.uniform(*_THICKNESS_RANGE, n) * scale, _MAX_THICKNESS_OF_SIZE * s)
    margin = _EXTENT_OF_SIZE * s + 0.5
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    angle = rng.uniform(0.0, 2 * np.pi, n)
    if channels == 1:
        fg = rng.uniform(*_FOREGROUND, (n, 1))
        bg = rng.uniform(*_BACKGROUND, (n, 1))
    else:
        fg = rng.uniform(*_RGB_FOREGROUND, (n, channels))
        bg = rng.uniform(*_RGB_BACKGROUND, (n, channels))
    sigma = rng.uniform(*_NOISE_SIGMA, n)
    return dict(labels=labels, s=s, t=t, cx=cx, cy=cy, angle=angle, fg=fg, bg=bg, sigma=sigma)


def _coverage(p, members, size):
    """Anti-aliased coverage (M, H, W) in [0, 1] for the images ``members`` of one class."""
    centres = np.arange(size, dtype=np.float32) + 0.5   # pixel centres
    gy, gx = centres[:, None], centres[None, :]

    def column(key):
        return p[key][members].astype(np.float32)[:, None, None]

    dx, dy = gx - column("cx"), gy - column("cy")
    cos, sin = np.cos(column("angle")), np.sin(column("angle"))
    u = dx * cos + dy * sin
    v = dy * cos - dx * sin
    sdf = _SDF[int(p["labels"][members[0]])]
    return np.clip(0.5 - sdf(u, v, column("s"), column("t")), 0.0, 1.0)


def _add_distractors(rng, images):
    n, channels, size, _ = images.shape
    low, high = _DISTRACTORS
    count = rng.integers(low, high + 1, n)
    ys = rng.integers(0, size, (n, high))
    xs = rng.integers(0, size, (n, high))
    level = rng.uniform(*_DISTRACTOR_LEVEL, (n, high, channels)).astype(np.float32)
    active = (np.arange(high)[None, :] < count[:, None])[:, :, None]
    rows = np.arange(n)[:, None]
    current = images[rows, :, ys, xs]                    # (n, high, C)
    images[rows, :, ys, xs] = np.where(active, level, current)


def synthetic(n, *, size=28, rgb=False, seed=0):
    """Generate ``n`` shape images: Dataset with images (n, C, size, size), C = 3 if rgb else 1.

    Classes (``SHAPE_CLASSES``): circle, ring, square, frame, triangle, cross, line, corner,
    tee, half-disk; balanced (class counts differ by at most one). The same
    ``(n, size, rgb, seed)`` always gives the same images.
    """
    _check_args(n, size, rgb, seed)
    channels = 3 if rgb else 1
    rng = np.random.default_rng(seed)
    p = _draw_parameters(rng, n, size, channels)
    images = np.empty((n, channels, size, size), dtype=np.float32)
    for label in range(len(SHAPE_CLASSES)):
        members = np.flatnonzero(p["labels"] == label)
        if members.size == 0:
            continue
        coverage = _coverage(p, members, size)[:, None]                # (M, 1, H, W)
        fg = p["fg"][members].astype(np.float32)[:, :, None, None]      # (M, C, 1, 1)
        bg = p["bg"][members].astype(np.float32)[:, :, None, None]
        images[members] = bg + (fg - bg) * coverage
    _add_distractors(rng, images)
    noise = rng.standard_normal(images.shape, dtype=np.float32)
    noise *= p["sigma"].astype(np.float32)[:, None, None, None]
    images += noise
    np.clip(images, 0.0, 1.0, out=images)
    kind = "RGB" if rgb else "grayscale"
    return Dataset(
        images=images,
        labels=p["labels"],
        classes=SHAPE_CLASSES,
        name="synthetic_rgb" if rgb else "synthetic",
        source=f"built-in shape generator (seed={seed}, {size}x{size} {kind})",
    )
