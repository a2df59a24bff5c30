"""The image-folder loader: PNG/JPEG files made in tmp_path, grayscale and RGB, mixed sizes."""
import sys

import numpy as np
import pytest

from cyconv import data
from cyconv.data import folder as folder_loader

Image = pytest.importorskip("PIL.Image")


# No real cache, no $CYCONV_DATA, no system folders and no network (tests/conftest.py).
pytestmark = pytest.mark.usefixtures("isolated_data")


def save(path, pixels, mode=None):
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.fromarray(np.asarray(pixels))
    (image.convert(mode) if mode else image).save(path)
    return path


def uniform(height, width, value):
    """A constant image: (H, W) for a gray value, (H, W, 3) for an RGB triple."""
    value = np.asarray(value, dtype=np.uint8)
    return np.broadcast_to(value, (height, width) + value.shape).copy()


@pytest.fixture
def mixed(tmp_path):
    """Three classes, grayscale and RGB, sizes 10x10 .. 40x30, plus a stray text file."""
    root = tmp_path / "shapes"
    save(root / "circle" / "a.png", uniform(10, 10, 50))
    save(root / "circle" / "b.png", uniform(40, 30, 60))
    save(root / "circle" / "c.png", uniform(24, 24, (0, 0, 255)))
    save(root / "square" / "a.png", uniform(24, 24, 200))
    save(root / "square" / "b.jpg", uniform(24, 24, (255, 0, 0)))
    save(root / "square" / "c.png", uniform(16, 20, 210))
    save(root / "triangle" / "a.png", uniform(24, 24, 128))
    save(root / "triangle" / "b.png", uniform(13, 17, (0, 255, 0)))
    (root / "triangle" / "README.txt").write_text("not an image")
    return root


@pytest.mark.parametrize("shape", [(1, 16, 16), (3, 20, 24)], ids=["gray16", "rgb20x24"])
def test_folder_resizes_and_converts_to_the_model_input(mixed, shape):
    ds = data.load("folder", path=mixed, split="test", image_shape=shape, seed=0)
    train = data.load("folder", path=mixed, split="train", image_shape=shape, seed=0)
    assert ds.images.shape[1:] == shape and train.images.shape[1:] == shape
    assert len(ds) + len(train) == 8
    assert ds.classes == train.classes == ("circle", "square", "triangle")
    assert ds.images.dtype == np.float32 and 0.0 <= train.images.min() and train.images.max() <= 1.0
    assert ds.name == "folder" and str(mixed) in ds.source


def test_folder_pixel_values_survive_conversion(tmp_path):
    root = tmp_path / "colours"
    save(root / "gray" / "g.png", uniform(12, 9, 128))
    save(root / "red" / "r.png", uniform(30, 30, (255, 0, 0)))
    with_split = dict(path=root, split="train", seed=0)
    rgb = data.load("folder", image_shape=(3, 8, 8), **with_split)
    gray = data.load("folder", image_shape=(1, 8, 8), **with_split)
    by_class = {rgb.classes[y]: i for i, y in enumerate(rgb.labels)}
    np.testing.assert_allclose(rgb.images[by_class["gray"]], 128 / 255, atol=1e-6)     # gray -> RGB copies
    np.testing.assert_allclose(rgb.images[by_class["red"]][:, 0, 0], [1.0, 0.0, 0.0], atol=1e-6)
    np.testing.assert_allclose(gray.images[by_class["red"]], 76 / 255, atol=1.5 / 255)  # ITU-R 601 luma


def test_folder_infers_grayscale_and_the_most_common_size(tmp_path):
    root = tmp_path / "g"
    for cls in ("a", "b"):
        for i in range(3):
            save(root / cls / f"{i}.png", uniform(14, 11, 30 * i))
    save(root / "a" / "odd.png", uniform(5, 5, 0))
    ds = data.load("folder", path=root, split="train")
    assert ds.image_shape == (1, 14, 11)
    save(root / "b" / "colour.png", uniform(14, 11, (1, 2, 3)))
    assert data.load("folder", path=root, split="train").image_shape == (3, 14, 11)


def test_folder_with_train_and_test_subfolders(tmp_path):
    for split, count in (("train", 3), ("test", 2)):
        for cls in ("cat", "dog"):
            for i in range(count):
                save(tmp_path / "pets" / split / cls / f"{i}.png", uniform(8, 8, 10 * i))
    train = data.load("folder", path=tmp_path / "pets")
    test = data.load("folder", path=tmp_path / "pets", split="test")
    assert (len(train), len(test)) == (6, 4)
    assert train.classes == test.classes == ("cat", "dog")
    assert np.bincount(test.labels).tolist() == [2, 2]


def test_seeded_split_is_stratified_disjoint_and_complementary(tmp_path):
    root = tmp_path / "many"
    for cls in ("a", "b"):
        for i in range(10):
            save(root / cls / f"{i:02d}.png", uniform(4, 4, 10 * i + (cls == "b")))
    load = lambda split, seed: data.load("folder", path=root, split=split, seed=seed)  # noqa: E731
    train, test = load("train", 1), load("test", 1)
    assert (len(train), len(test)) == (16, 4)
    assert np.bincount(test.labels).tolist() == [2, 2]
    keys = lambda ds: {(int(y), float(x[0, 0, 0])) for x, y in zip(ds.images, ds.labels)}  # noqa: E731
    assert not keys(train) & keys(test)
    assert len(keys(train) | keys(test)) == 20
    assert keys(load("test", 1)) == keys(test) != keys(load("test", 2))


def test_folder_n_takes_a_seeded_subset_of_all_classes(tmp_path):
    root = tmp_path / "many"
    for cls in ("a", "b", "c"):
        for i in range(10):
            save(root / cls / f"{i}.png", uniform(4, 4, i))
    ds = data.load("folder", path=root, n=9, seed=3)
    assert len(ds) == 9 and len(set(ds.labels.tolist())) > 1
    again = data.load("folder", path=root, n=9, seed=3)
    np.testing.assert_array_equal(ds.images, again.images)


def test_sixteen_bit_grayscale_is_scaled_not_clipped(tmp_path):
    root = tmp_path / "deep"
    save(root / "a" / "x.png", uniform(6, 6, 0).astype(np.uint16) + 32896, mode="I;16")
    save(root / "b" / "y.png", uniform(6, 6, 0))
    ds = data.load("folder", path=root, image_shape=(1, 6, 6))
    a = ds.images[ds.labels == 0]
    np.testing.assert_allclose(a, 128 / 255, atol=1e-6)  # 32896 / 257 = 128


def test_corrupt_image_names_the_file(tmp_path, mixed):
    bad = mixed / "square" / "broken.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n this is not really a png")
    with pytest.raises(data.DataError, match="broken.png: cannot decode"):
        for split in ("train", "test"):
            data.load("folder", path=mixed, split=split, image_shape=(1, 8, 8))


@pytest.mark.parametrize("layout, match", [
    ("one-class", "at least two"), ("empty-class", "has no images"), ("missing", "no such folder"),
], ids=["one-class", "empty-class", "missing"])
def test_bad_folder_layouts(tmp_path, layout, match):
    root = tmp_path / "bad"
    if layout != "missing":
        save(root / "only" / "a.png", uniform(4, 4, 1))
    if layout == "empty-class":
        (root / "empty").mkdir()
    with pytest.raises(data.DataError, match=match):
        data.load("folder", path=root)


@pytest.mark.parametrize("shape", [(2, 8, 8), (1, 0, 8), (1, 8), (3, 8.5, 8)],
                         ids=["two-channels", "zero-height", "two-values", "float"])
def test_folder_validates_image_shape(mixed, shape):
    with pytest.raises(ValueError, match="image_shape"):
        data.load("folder", path=mixed, image_shape=shape)


def test_missing_pillow_gives_a_clear_error(mixed, monkeypatch):
    monkeypatch.setitem(sys.modules, "PIL", None)  # makes `from PIL import ...` fail
    with pytest.raises(data.MissingDependencyError, match="pip install pillow") as info:
        data.load("folder", path=mixed)
    assert isinstance(info.value, ImportError) and isinstance(info.value, data.DataError)


def test_load_train_test_on_a_folder(mixed):
    train, val, test = data.load_train_test("folder", path=mixed, val_fraction=0.2, image_shape=(1, 8, 8))
    assert len(train) + len(val) + len(test) == 8
    assert train.normalization == test.normalization
    assert folder_loader.TEST_FRACTION == pytest.approx(0.2)


# ----------------------------------------------------------------------------- declared sizes

def _png_declaring(path, width, height):
    """A few-byte PNG whose header (IHDR) claims width x height: nothing big exists on disk."""
    import struct
    import zlib
    save(path, uniform(4, 4, 7))
    raw = bytearray(path.read_bytes())
    start = raw.index(b"IHDR")
    raw[start + 4:start + 12] = struct.pack(">II", width, height)
    raw[start + 17:start + 21] = struct.pack(">I", zlib.crc32(bytes(raw[start:start + 17])))
    path.write_bytes(bytes(raw))
    return path


def _never_decode(monkeypatch):
    def refuse(*args):
        raise AssertionError("an image was decoded before the sizes were checked")
    monkeypatch.setattr(folder_loader, "_decode", refuse)


def test_an_image_declaring_too_many_pixels_is_refused_from_its_header(tmp_path, monkeypatch):
    root = tmp_path / "bomb"
    save(root / "a" / "ok.png", uniform(8, 8, 1))
    bomb = _png_declaring(root / "b" / "huge.png", 9000, 5000)
    assert bomb.stat().st_size < 200
    _never_decode(monkeypatch)
    with pytest.raises(data.DataError, match=r"huge.png: the image declares 9000x5000 = 45000000 "
                                             r"pixels, more than the 40000000 one image may have"):
        data.load("folder", path=root, image_shape=(1, 8, 8))


def test_an_image_past_pillows_own_limit_is_refused_in_open(tmp_path, monkeypatch):
    root = tmp_path / "bomb"
    save(root / "a" / "ok.png", uniform(8, 8, 1))
    _png_declaring(root / "b" / "huge.png", 100_000, 100_000)
    _never_decode(monkeypatch)
    with pytest.raises(data.DataError, match=r"huge.png: the image is too big to load safely "
                                             r"\(Image size \(10000000000 pixels\)"):
        data.load("folder", path=root, image_shape=(1, 8, 8))
    assert Image.MAX_IMAGE_PIXELS == folder_loader.MAX_IMAGE_PIXELS


def test_photos_need_an_explicit_input_size(tmp_path, monkeypatch):
    root = tmp_path / "photos"
    for cls in ("a", "b"):
        _png_declaring(root / cls / "p.png", 3000, 2000)
    _never_decode(monkeypatch)
    with pytest.raises(data.DataError, match=r"photos: the images are mostly 3000x2000 = 6000000 pixels"
                                             r".*pass image_shape=\(1, H, W\)"):
        data.load("folder", path=root)


def test_a_dataset_over_the_memory_budget_is_refused_before_decoding(tmp_path, monkeypatch):
    root = tmp_path / "many"
    for cls in ("a", "b"):
        for i in range(5):
            save(root / cls / f"{i}.png", uniform(4, 4, i))
    monkeypatch.setenv("CYCONV_MAX_DATA_BYTES", "100000")
    _never_decode(monkeypatch)
    with pytest.raises(data.DataError, match=r"many: 8 images of 3x64x64 would take 491,520 bytes of "
                                             r"memory, more than the 100,000 bytes a dataset may use; "
                                             r"pass a smaller image_shape"):
        data.load("folder", path=root, image_shape=(3, 64, 64))


def test_a_big_jpeg_is_decoded_shrunk_towards_the_target_size(tmp_path, monkeypatch):
    root = tmp_path / "jpegs"
    save(root / "a" / "big.jpg", uniform(1600, 2000, (200, 40, 40)))
    save(root / "b" / "small.png", uniform(8, 8, 3))
    decoded = []
    real = folder_loader._to_array
    monkeypatch.setattr(folder_loader, "_to_array",
                        lambda Image, image, *shape: decoded.append(image.size) or real(Image, image, *shape))
    ds = data.load("folder", path=root, split="train", image_shape=(3, 64, 64))
    assert (250, 200) in decoded  # the decoder's 1/8 scale, not the 2000x1600 original
    red = ds.images[ds.labels == 0][0, 0]
    np.testing.assert_allclose(red, 200 / 255, atol=4 / 255)
