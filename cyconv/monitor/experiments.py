""""Break it" experiments: four classic ways to ruin a training run, each trained for a few
steps with the doctor watching, so a student sees the failure and the doctor naming it.

- ``lr_x100``: the learning rate ×100 (divergence);
- ``deep_sigmoid``: a stack of eight sigmoid layers (vanishing gradients);
- ``zero_init``: every weight and bias starts at zero (symmetry never breaks);
- ``huge_init``: the starting weights ×5 of their usual scale, trained with SGD and momentum
  (dead ReLUs: the huge first gradients throw most units of a layer below zero for good; Adam
  would hide it, since it scales every weight's step to the learning rate).

Each trains from the same recipe (Adam at 2e-3 unless said otherwise, batches of 32, seed 0),
not the student's settings, so it shows its failure on any sensible run. The experiment's
model is its own: the run it starts from is not touched.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np

from ..model import Sequential
from ..train import Trainer, TrainingDiverged
from . import doctor, stats

__all__ = ["EXPERIMENTS", "EXPECTED", "Experiment", "broken_network", "run_experiment"]

EXPERIMENTS = ("lr_x100", "deep_sigmoid", "zero_init", "huge_init")
#: The diagnosis each experiment is built to provoke.
EXPECTED = {"lr_x100": "divergence", "deep_sigmoid": "vanishing", "zero_init": "symmetry", "huge_init": "dead_relu"}
BASE_OPTIMIZER, BASE_LR = "adam", 2e-3
LR_FACTOR = 100.0
HUGE_SCALE = 5.0
HUGE_OPTIMIZER = "momentum"
SIGMOID_DEPTH, SIGMOID_WIDTH = 8, 64
PROBE_SIZE = 64


@dataclass(frozen=True)
class Experiment:
    """What an experiment ran and what the doctor said: ``checkups`` (one per step),
    ``diagnoses`` (most urgent first), ``stopped`` (the divergence message, or None)."""
    name: str
    lr: float
    steps: int
    checkups: tuple
    diagnoses: tuple
    stopped: str | None


def broken_network(name: str, network: dict, classes: int) -> dict:
    """The network experiment ``name`` trains (a copy; ``network`` is a model config). The
    starting weights are scaled after it is built (``zero_init`` ×0, ``huge_init`` ×5)."""
    broken = copy.deepcopy(network)
    if name == "deep_sigmoid":
        layers = [{"type": "Flatten", "name": "flatten1"}]
        for index in range(1, SIGMOID_DEPTH + 1):
            layers += [{"type": "Dense", "name": f"dense{index}", "out_features": SIGMOID_WIDTH},
                       {"type": "Sigmoid", "name": f"sigmoid{index}"}]
        layers.append({"type": "Dense", "name": f"dense{SIGMOID_DEPTH + 1}", "out_features": classes})
        broken["layers"] = layers
    elif name not in EXPERIMENTS:
        raise ValueError(f"broken_network: unknown experiment {name!r}; there are {EXPERIMENTS}")
    return broken


def _model(name: str, network: dict, classes: int, seed: int) -> Sequential:
    model = Sequential.from_config(broken_network(name, network, classes), seed=seed)
    scale = {"huge_init": HUGE_SCALE, "zero_init": 0.0}.get(name)
    if scale is not None:
        for _, param, _ in model.parameters():
            param *= scale
    return model


def run_experiment(name: str, network: dict, train, *, batch_size: int = 32, steps: int = 30,
                   seed: int = 0) -> Experiment:
    """Train experiment ``name`` on ``network`` (a model config) and ``train`` (a Dataset) for
    ``steps`` batches with a checkup after each one, and diagnose it."""
    if name not in EXPERIMENTS:
        raise ValueError(f"run_experiment: unknown experiment {name!r}; there are {EXPERIMENTS}")
    classes = len(train.classes)
    model = _model(name, network, classes, seed)
    lr = BASE_LR * LR_FACTOR if name == "lr_x100" else BASE_LR
    optimizer = HUGE_OPTIMIZER if name == "huge_init" else BASE_OPTIMIZER
    trainer = Trainer(model, train, optimizer=optimizer, lr=lr, batch_size=batch_size, epochs=1 << 20, seed=seed)
    probe = np.asarray(train.images[:PROBE_SIZE])
    checkups, stopped = [], None
    for _ in range(steps):
        before = stats.weights_of(model)
        try:
            report = trainer.step()[0]
        except TrainingDiverged as error:
            stopped = str(error)
            break
        checkups.append(stats.checkup(model, report.step, report.loss, model.forward_trace(probe), before))
    return Experiment(name=name, lr=lr, steps=len(checkups), checkups=tuple(checkups),
                      diagnoses=doctor.diagnose(checkups, stopped=stopped), stopped=stopped)
