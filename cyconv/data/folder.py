"""The user's own images: one sub-folder per class, decoded with Pillow (optional dependency).

Layout::

    my_shapes/                  or      my_shapes/
      cats/  a.png b.jpg ...              train/ cats/ ... dogs/ ...
      dogs/  ...                          test/  cats/ ... dogs/ ...

Class names are the sub-folder names, sorted. Without train/ and test/ sub-folders, a seeded
split keeps ``TEST_FRACTION`` of every class for "test"; the same seed gives complementary
"train" and "test" sets. Every image is converted to the requested channels (grayscale or
RGB) and resized to the requested (H, W) with bilinear filtering (the aspect ratio is not
kept: the model needs one fixed input size).

Nothing is decoded before every file's header was read: each image's width x height must be
within ``MAX_IMAGE_PIXELS`` (Pillow's lazy ``open`` gives ``.size`` without decoding) and the
whole dataset, at the size it will have, within the memory budget (``limits``). A JPEG is then
decoded already shrunk towards the target size (``draft``: 1/2, 1/4 or 1/8 scale in the
decoder) and any image is reduced by whole factors before the final bilinear resize.
"""
import warnings
from collections import Counter
from pathlib import Path

import numpy as np

from .dataset import Dataset
from .errors import DataError, MissingDependencyError
from .limits import BYTES_PER_LOADED_PIXEL, check_memory

IMAGE_EXTENSIONS = frozenset(
    {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm", ".pgm", ".pbm"}
)
TEST_FRACTION = 0.2
_GRAY_MODES = frozenset({"1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
_SIXTEEN_BIT = frozenset({"I;16", "I;16B", "I;16L", "I;16N"})
# One image's width x height. A 6000x6000 scan is 36 million; decoding one this big takes up
# to 160 MB (RGBA) for a moment, whatever size the model wants.
MAX_IMAGE_PIXELS = 40_000_000
# Without image_shape the model's input is the most common image size; past this it is surely
# a folder of photos that needs an explicit, smaller image_shape.
MAX_INFERRED_PIXELS = 1024 * 1024
# resize() first shrinks by whole factors while the image stays 3x the target: results match
# a full bilinear resize to the eye, at a fraction of the work for a photo.
_REDUCING_GAP = 3.0


def _pillow():
    try:
        from PIL import Image, UnidentifiedImageError
    except ImportError:
        raise MissingDependencyError(
            "Loading an image folder needs Pillow to decode PNG/JPEG files, and it is not "
            "installed. Install it with `pip install pillow` (or use a built-in dataset such as "
            "'synthetic')."
        ) from None
    # Pillow's own bomb guard (None switches it off): never looser than this loader's limit.
    if Image.MAX_IMAGE_PIXELS is None or Image.MAX_IMAGE_PIXELS > MAX_IMAGE_PIXELS:
        Image.MAX_IMAGE_PIXELS = MAX_IMAGE_PIXELS
    return Image, UnidentifiedImageError


def _visible_children(folder):
    return sorted(p for p in Path(folder).iterdir() if not p.name.startswith("."))


def _class_folders(root):
    folders = [p for p in _visible_children(root) if p.is_dir()]
    if len(folders) < 2:
        raise DataError(
            f"{root}: an image folder needs one sub-folder per class (at least two, e.g. "
            f"{root}/cats/ and {root}/dogs/), found {len(folders)}."
        )
    return folders


def _image_files(class_folder):
    files = [p for p in _visible_children(class_folder)
             if p.is_file() and p.suffix.lower() in IMAGE_EXTENSIONS]
    if not files:
        raise DataError(
            f"{class_folder}: this class folder has no images (looked for "
            f"{', '.join(sorted(IMAGE_EXTENSIONS))})."
        )
    return files


def _has_split_folders(root):
    return (root / "train").is_dir() and (root / "test").is_dir()


def list_images(root):
    """(paths, labels, classes) of every image under ``root``, grouped by class folder."""
    paths, labels = [], []
    folders = _class_folders(root)
    for label, folder in enumerate(folders):
        files = _image_files(folder)
        paths.extend(files)
        labels.extend([label] * len(files))
    return paths, np.asarray(labels, dtype=np.int64), tuple(f.name for f in folders)


def _split_indices(labels, split, seed):
    """Indices of ``split`` when there are no train/test folders: a per-class seeded holdout."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, 0xF01DE5]))
    test = []
    for label in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == label))
        n_test = int(round(TEST_FRACTION * members.size)) if members.size > 1 else 0
        test.extend(members[:n_test].tolist())
    is_test = np.zeros(labels.size, dtype=bool)
    is_test[test] = True
    return np.flatnonzero(is_test if split == "test" else ~is_test)


def _open(Image, unidentified, path):
    """Open an image lazily (header only); DataError naming the file if it cannot be read."""
    try:
        with warnings.catch_warnings():
            # Pillow warns past MAX_IMAGE_PIXELS; _read_header refuses those with the sizes.
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            return Image.open(path)
    except Image.DecompressionBombError as exc:  # past twice Pillow's limit: refused in open
        raise DataError(f"{path}: the image is too big to load safely ({exc}); shrink it or "
                        "remove it.") from None
    except (unidentified, OSError, ValueError) as exc:
        raise DataError(f"{path}: cannot decode this image ({exc}); remove or replace it.") from None


def _read_header(Image, unidentified, path):
    """(mode, height, width) of one image, refused past MAX_IMAGE_PIXELS; nothing is decoded."""
    with _open(Image, unidentified, path) as image:
        mode, (width, height) = image.mode, image.size
    if width * height > MAX_IMAGE_PIXELS:
        raise DataError(
            f"{path}: the image declares {width}x{height} = {width * height} pixels, more than "
            f"the {MAX_IMAGE_PIXELS} one image may have; shrink it or remove it."
        )
    return mode, height, width


def _infer_shape(headers, base):
    """(C, H, W): RGB if any image has colour, else grayscale; the most common size."""
    colour = any(mode not in _GRAY_MODES for mode, _, _ in headers)
    height, width = Counter((h, w) for _, h, w in headers).most_common(1)[0][0]
    channels = 3 if colour else 1
    if height * width > MAX_INFERRED_PIXELS:
        raise DataError(
            f"{base}: the images are mostly {width}x{height} = {width * height} pixels, more than "
            f"the {MAX_INFERRED_PIXELS} an input size read from the images may have; pass "
            f"image_shape=({channels}, H, W), e.g. ({channels}, 64, 64), to choose the model's input."
        )
    return (channels, height, width)


def _decode(Image, unidentified, path, channels, height, width):
    """One image file as uint8 (C, H, W), decoded as close to (H, W) as its format allows."""
    with _open(Image, unidentified, path) as image:
        try:
            image.draft("L" if channels == 1 else "RGB", (width, height))  # JPEG only; else no-op
            image.load()
            return _to_array(Image, image, channels, height, width)
        except (unidentified, OSError, ValueError, Image.DecompressionBombError) as exc:
            raise DataError(f"{path}: cannot decode this image ({exc}); remove or replace it.") from None


def _to_array(Image, image, channels, height, width):
    """Convert one decoded PIL image to uint8 (C, H, W) with the requested channels and size."""
    if image.mode in _SIXTEEN_BIT:
        # Pillow's 16 -> 8 bit conversion clips instead of scaling; scale explicitly.
        wide = np.asarray(image, dtype=np.float64) / 257.0
        image = Image.fromarray(np.clip(np.rint(wide), 0, 255).astype(np.uint8))
    image = image.convert("L" if channels == 1 else "RGB")
    if image.size != (width, height):
        image = image.resize((width, height), Image.Resampling.BILINEAR, reducing_gap=_REDUCING_GAP)
    pixels = np.asarray(image, dtype=np.uint8)
    return pixels[None] if channels == 1 else pixels.transpose(2, 0, 1)


def _check_shape(image_shape):
    shape = tuple(image_shape)
    if (len(shape) != 3 or shape[0] not in (1, 3)
            or not all(isinstance(s, (int, np.integer)) and s >= 1 for s in shape)):
        raise ValueError(
            f"load folder: image_shape must be (C, H, W) with C = 1 (grayscale) or 3 (RGB) and "
            f"H, W >= 1, got {image_shape!r}"
        )
    return tuple(int(s) for s in shape)


def load_folder(root, *, split="train", n=None, seed=0, image_shape=None):
    """Load ``split`` of an image folder as a Dataset with images (N, C, H, W) in [0, 1].

    ``image_shape`` (C, H, W) is the model's input; None infers it from the images.
    ``n`` keeps a seeded random subset of n images (the files are grouped by class, so the
    first n would all be one class).
    """
    root = Path(root)
    if not root.is_dir():
        raise DataError(f"{root}: no such folder; an image folder has one sub-folder per class.")
    Image, unidentified = _pillow()
    base = root / split if _has_split_folders(root) else root
    paths, labels, classes = list_images(base)
    if base == root:
        keep = _split_indices(labels, split, seed)
        paths, labels = [paths[i] for i in keep], labels[keep]
    if n is not None and n < len(paths):
        keep = np.sort(np.random.default_rng(seed).choice(len(paths), size=n, replace=False))
        paths, labels = [paths[i] for i in keep], labels[keep]
    if not paths:
        raise DataError(f"{base}: the {split} split of this image folder is empty.")
    headers = [_read_header(Image, unidentified, path) for path in paths]
    shape = _infer_shape(headers, base) if image_shape is None else _check_shape(image_shape)
    channels, height, width = shape
    check_memory(base, f"{len(paths)} images of {channels}x{height}x{width}",
                 len(paths) * channels * height * width * BYTES_PER_LOADED_PIXEL,
                 advice="pass a smaller image_shape=(C, H, W), load fewer images (n=...)")
    pixels = np.empty((len(paths),) + shape, dtype=np.uint8)
    for i, path in enumerate(paths):
        pixels[i] = _decode(Image, unidentified, path, *shape)
    images = np.divide(pixels, np.float32(255), dtype=np.float32)
    return Dataset(
        images=images,
        labels=labels,
        classes=classes,
        name="folder",
        source=f"image folder {base} ({split}, {len(classes)} classes, resized to {shape})",
    )
