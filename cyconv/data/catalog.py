"""What cyconv knows about each published dataset: file names, checksums, mirrors, class names.

The MD5 sums are the published ones (the MD5SUMS file that ships with the datasets lists them too). They live
here so that verification works on a machine that only has the package.
"""
from dataclasses import dataclass

DIGIT_CLASSES = tuple(str(d) for d in range(10))

FASHION_CLASSES = (
    "T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
    "Sandal", "Shirt", "Sneaker", "Bag", "Ankle boot",
)

CIFAR10_CLASSES = (
    "airplane", "automobile", "bird", "cat", "deer",
    "dog", "frog", "horse", "ship", "truck",
)

IDX_SPLIT_FILES = {
    "train": ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz"),
    "test": ("t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz"),
}

CIFAR10_ARCHIVE = "cifar-10-python.tar.gz"
CIFAR10_FOLDER = "cifar-10-batches-py"
CIFAR10_SPLIT_FILES = {
    "train": tuple(f"data_batch_{i}" for i in range(1, 6)),
    "test": ("test_batch",),
}


@dataclass(frozen=True)
class FileDataset:
    """A dataset that comes as files: where to look for them and how to check them.

    ``folder_names`` are the sub-folder names tried under ``$CYCONV_DATA``, the user cache and
    the system folders (the first one is where downloads and imports are written).
    ``split_files`` maps "train"/"test" to the file names that split needs.
    ``md5`` maps a file name to its published MD5. ``urls`` maps a file name to the download
    addresses tried in order.
    """

    name: str
    title: str
    kind: str  # "idx" or "cifar"
    folder_names: tuple
    split_files: dict
    md5: dict
    urls: dict
    classes: tuple
    image_shape: tuple

    @property
    def all_files(self):
        """Every file of both splits, train first, without duplicates."""
        return tuple(dict.fromkeys(self.split_files["train"] + self.split_files["test"]))


def _mirror_urls(bases, files):
    return {f: tuple(base + f for base in bases) for f in files}


_MNIST_FILES = IDX_SPLIT_FILES["train"] + IDX_SPLIT_FILES["test"]

MNIST = FileDataset(
    name="mnist",
    title="MNIST",
    kind="idx",
    folder_names=("mnist", "MNIST", "MNIST/raw"),
    split_files=IDX_SPLIT_FILES,
    md5={
        "train-images-idx3-ubyte.gz": "f68b3c2dcbeaaa9fbdd348bbdeb94873",
        "train-labels-idx1-ubyte.gz": "d53e105ee54ea40749a09fcbcd1e9432",
        "t10k-images-idx3-ubyte.gz": "9fb629c4189551a2d022fa330f9573f3",
        "t10k-labels-idx1-ubyte.gz": "ec29112dd5afa0611ce80d1b7f02629c",
    },
    urls=_mirror_urls(("https://ossci-datasets.s3.amazonaws.com/mnist/",), _MNIST_FILES),
    classes=DIGIT_CLASSES,
    image_shape=(1, 28, 28),
)

FASHION_MNIST = FileDataset(
    name="fashion_mnist",
    title="Fashion-MNIST",
    kind="idx",
    folder_names=("fashion_mnist", "fashion-mnist", "FashionMNIST", "FashionMNIST/raw"),
    split_files=IDX_SPLIT_FILES,
    md5={
        "train-images-idx3-ubyte.gz": "8d4fb7e6c68d591d4c3dfef9ec88bf0d",
        "train-labels-idx1-ubyte.gz": "25c81989df183df01b3e8a0aad5dffbe",
        "t10k-images-idx3-ubyte.gz": "bef4ecab320f06d8554ea6380940ec79",
        "t10k-labels-idx1-ubyte.gz": "bb300cfdad3c16e7a12a480ee83cd310",
    },
    urls=_mirror_urls(
        ("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",), _MNIST_FILES
    ),
    classes=FASHION_CLASSES,
    image_shape=(1, 28, 28),
)

CIFAR10 = FileDataset(
    name="cifar10",
    title="CIFAR-10",
    kind="cifar",
    folder_names=("cifar10", "cifar-10", "CIFAR10"),
    split_files=CIFAR10_SPLIT_FILES,
    # Only the archive has a published checksum; the extracted batches are format-checked.
    md5={CIFAR10_ARCHIVE: "c58f30108f718f92721af3b95e74349a"},
    urls={CIFAR10_ARCHIVE: ("https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz",)},
    classes=CIFAR10_CLASSES,
    image_shape=(3, 32, 32),
)

FILE_DATASETS = {spec.name: spec for spec in (MNIST, FASHION_MNIST, CIFAR10)}


def file_dataset(name):
    """The ``FileDataset`` called ``name``; ValueError naming the choices otherwise."""
    try:
        return FILE_DATASETS[name]
    except KeyError:
        raise ValueError(
            f"data: {name!r} is not a file-based dataset; choose one of {tuple(FILE_DATASETS)}"
        ) from None
