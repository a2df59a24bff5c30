"""What a lab run needs besides the network, as the app's controls give it (no Qt here).

The numbers themselves (learning rate, momentum, batch size, epochs, optimizer) are checked
once, where they are used: by :class:`cyconv.train.Trainer` when the session builds it. This
module only parses text fields and knows which datasets have a fixed image shape.
"""
from __future__ import annotations

from dataclasses import dataclass

from .i18n import tr

OPTIMIZERS = ("sgd", "momentum", "nesterov", "adagrad", "rmsprop", "adam")
#: The image shape of every dataset that has a fixed one (the folder's is read from its files).
DATASET_SHAPES = {"synthetic": (1, 28, 28), "synthetic_rgb": (3, 32, 32), "mnist": (1, 28, 28),
                  "fashion_mnist": (1, 28, 28), "cifar10": (3, 32, 32), "digits": (1, 8, 8)}
#: The share of the training samples kept apart to validate after each epoch.
VAL_FRACTION = 0.1


@dataclass(frozen=True)
class TrainingSettings:
    """Everything a run needs besides the network.

    ``n_train`` caps the training samples of every dataset (the built-in shapes are generated in
    that number; MNIST and the others take their first ``n_train``); ``n_eval`` is the size of
    the fixed test subset the live views (confusion matrix, sample picker) show. The whole test
    split is evaluated once a run ends.
    """
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

    def check_data_choice(self) -> None:
        """The one thing the trainer cannot check: an image folder needs a folder."""
        if self.dataset == "folder" and not self.folder:
            raise ValueError(tr("train.folder_missing"))

    def training_block(self) -> dict:
        """The checkpoint's "training" block for these settings (the trainer writes the same keys)."""
        return {"optimizer": self.optimizer, "lr": self.lr, "momentum": self.momentum,
                "batch_size": self.batch_size, "epochs": self.epochs, "seed": self.seed}


def parse_float(text: str, message_key: str) -> float:
    """A float from a text field (a decimal comma is accepted); ValueError with the translated
    message otherwise."""
    try:
        value = float(text.strip().replace(",", "."))
    except ValueError:
        raise ValueError(tr(message_key, value=text)) from None
    return value
