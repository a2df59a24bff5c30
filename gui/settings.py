"""Training settings as typed by the user, checked before anything starts (no Qt here)."""
from __future__ import annotations

import math
from dataclasses import dataclass

from .i18n import tr

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
#: The image shape of every dataset that has a fixed one (the folder's is read from its files).
DATASET_SHAPES = {"synthetic": (1, 28, 28), "synthetic_rgb": (3, 32, 32), "mnist": (1, 28, 28),
                  "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (1, 8, 8)}


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a run needs besides the network. `n_train`/`n_eval` cap the sets (speed)."""
    dataset: str = "synthetic"
    folder: str | None = None
    # mnist_cnn on the synthetic shapes with these settings: 98.5 % test accuracy after 8 epochs,
    # about 25 s on 2 cores (`cyconv train --preset mnist_cnn --data synthetic --n-train 30000
    # --epochs 8 --lr 2e-3`); 5,000 samples and lr 1e-3 had reached only ~80 %.
    n_train: int = 30000
    n_eval: int = 500
    optimizer: str = "adam"
    lr: float = 0.002
    momentum: float = 0.9
    batch_size: int = 64
    epochs: int = 8
    seed: int = 0
    picture_interval: float = 0.25      # seconds between filter/activation snapshots
    eval_interval: float = 2.0          # seconds between confusion-matrix updates

    def validate(self) -> None:
        """Raise ValueError with a message for the user (in the current language)."""
        if self.batch_size < 1:
            raise ValueError(tr("bad.batch", value=self.batch_size))
        if not (isinstance(self.lr, float) and math.isfinite(self.lr) and self.lr > 0):
            raise ValueError(tr("bad.lr", value=self.lr))
        if not (math.isfinite(self.momentum) and 0.0 <= self.momentum < 1.0):
            raise ValueError(tr("bad.momentum", value=self.momentum))
        if self.epochs < 1:
            raise ValueError(tr("bad.epochs", value=self.epochs))
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {OPTIMIZERS}, got {self.optimizer!r}")
        if self.dataset == "folder" and not self.folder:
            raise ValueError(tr("train.folder_missing"))


def parse_float(text: str, message_key: str) -> float:
    """A float from a text field; ValueError with the translated message otherwise."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(tr(message_key, value=text)) from None
    return value
