"""Optimizers, in order of increasing complexity.

Each takes ``model.parameters()`` — (name, param, grad) triples — and updates the parameter
arrays in place in ``step()``. ``lr`` (and ``momentum`` where there is one) may be changed
between steps. Per-parameter state (velocities, squared-gradient sums) is kept by name, so
``state_dict()`` can be saved and restored exactly.
"""
import math
import numbers

import numpy as np

__all__ = ["Optimizer", "SGD", "Momentum", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS", "make"]


# ----------------------------------------------------------------------------------------------
# Settings: one rule per kind of hyper-parameter, applied on every assignment (constructor,
# the app's controls between steps, and load_state_dict), so no path can skip the check.
# ----------------------------------------------------------------------------------------------
def _real(value, owner, setting):
    # bool is an int to Python, but lr=True is a mistake, never a learning rate of 1.
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, numbers.Real):
        raise TypeError(f"{owner}: {setting} must be a number, got {type(value).__name__} {value!r}")
    return float(value)


def positive(value, owner, setting):
    """A finite number > 0: the learning rate, and ε (which keeps a division away from 0)."""
    number = _real(value, owner, setting)
    if not (math.isfinite(number) and number > 0):
        raise ValueError(f"{owner}: {setting} must be a finite number > 0, got {value!r}")
    return number


def decay_rate(value, owner, setting):
    """0 <= value < 1: momentum, β1, β2, ρ. At 1 a running mean never forgets (and Adam's bias
    correction divides by 0); above 1 or below 0 it grows or flips sign every step."""
    number = _real(value, owner, setting)
    if not (0.0 <= number < 1.0):
        raise ValueError(f"{owner}: {setting} must be in [0, 1), got {value!r}")
    return number


def flag(value, owner, setting):
    """A real bool: nesterov="no" must not silently mean True."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{owner}: {setting} must be True or False, got {type(value).__name__} "
                        f"{value!r}")
    return bool(value)


class Setting:
    """A hyper-parameter attribute checked by ``rule`` every time it is assigned."""

    def __init__(self, rule, label=None):
        self.rule, self.label = rule, label

    def __set_name__(self, owner, name):
        self.attribute, self.label = "_" + name, self.label or name

    def __get__(self, instance, owner=None):
        return self if instance is None else getattr(instance, self.attribute)

    def __set__(self, instance, value):
        setattr(instance, self.attribute, self.rule(value, type(instance).__name__, self.label))


class Optimizer:
    name = "optimizer"
    state_keys = ()
    lr = Setting(positive)

    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{self.name}: the model has no parameters to optimize")
        self.lr = lr
        self.t = 0
        self.state = {key: {name: np.zeros_like(param) for name, param, _ in self.parameters}
                      for key in self.state_keys}

    def step(self):
        self.t += 1
        for name, param, grad in self.parameters:
            self._update(name, param, grad)

    def _update(self, name, param, grad):
        raise NotImplementedError

    def hyperparameters(self):
        return {"lr": self.lr}

    def state_dict(self):
        return {"name": self.name, "t": self.t, "hyperparameters": self.hyperparameters(),
                "state": {key: {n: a.copy() for n, a in by_name.items()}
                          for key, by_name in self.state.items()}}

    def load_state_dict(self, saved):
        if saved.get("name") != self.name:
            raise ValueError(f"{self.name}: cannot load the state of a {saved.get('name')} optimizer")
        for key, by_name in saved["state"].items():
            for name, array in by_name.items():
                np.copyto(self.state[key][name], array)
        self.t = int(saved["t"])
        for key, value in saved["hyperparameters"].items():
            setattr(self, key, value)


class SGD(Optimizer):
    """θ ← θ − lr·g"""
    name = "sgd"

    def _update(self, name, param, grad):
        param -= self.lr * grad


class Momentum(Optimizer):
    """v ← μv − lr·g; θ ← θ + v. With ``nesterov=True`` the step looks ahead:
    θ ← θ + μv − lr·g (the common reformulation of Nesterov's method)."""
    name = "momentum"
    state_keys = ("velocity",)
    momentum = Setting(decay_rate)
    nesterov = Setting(flag)

    def __init__(self, parameters, lr=0.01, momentum=0.9, nesterov=False):
        self.momentum = momentum
        self.nesterov = nesterov
        super().__init__(parameters, lr)

    def _update(self, name, param, grad):
        v = self.state["velocity"][name]
        v *= self.momentum
        v -= self.lr * grad
        if self.nesterov:
            param += self.momentum * v - self.lr * grad
        else:
            param += v

    def hyperparameters(self):
        return {"lr": self.lr, "momentum": self.momentum}


class AdaGrad(Optimizer):
    """h ← h + g²; θ ← θ − lr·g/(√h + ε): each weight's step shrinks as it learns."""
    name = "adagrad"
    state_keys = ("sum_sq",)
    eps = Setting(positive)

    def __init__(self, parameters, lr=0.01, eps=1e-8):
        self.eps = eps
        super().__init__(parameters, lr)

    def _update(self, name, param, grad):
        h = self.state["sum_sq"][name]
        h += grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class RMSprop(Optimizer):
    """h ← ρh + (1 − ρ)g²; θ ← θ − lr·g/(√h + ε): AdaGrad that forgets old gradients."""
    name = "rmsprop"
    state_keys = ("mean_sq",)
    rho = Setting(decay_rate)
    eps = Setting(positive)

    def __init__(self, parameters, lr=0.001, rho=0.9, eps=1e-8):
        self.rho, self.eps = rho, eps
        super().__init__(parameters, lr)

    def _update(self, name, param, grad):
        h = self.state["mean_sq"][name]
        h *= self.rho
        h += (1 - self.rho) * grad * grad
        param -= self.lr * grad / (np.sqrt(h) + self.eps)


class Adam(Optimizer):
    """Momentum and RMSprop together, with bias correction of both running means."""
    name = "adam"
    state_keys = ("m", "v")
    beta1 = Setting(decay_rate)
    beta2 = Setting(decay_rate)
    eps = Setting(positive)

    def __init__(self, parameters, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        super().__init__(parameters, lr)

    @property
    def momentum(self):
        """beta1 plays the role of momentum, so the app's momentum control sets it."""
        return self.beta1

    @momentum.setter
    def momentum(self, value):
        self.beta1 = value

    def _update(self, name, param, grad):
        m, v = self.state["m"][name], self.state["v"][name]
        m *= self.beta1
        m += (1 - self.beta1) * grad
        v *= self.beta2
        v += (1 - self.beta2) * grad * grad
        m_hat_scale = 1.0 / (1 - self.beta1 ** self.t)
        v_hat_scale = 1.0 / (1 - self.beta2 ** self.t)
        param -= self.lr * (m * m_hat_scale) / (np.sqrt(v * v_hat_scale) + self.eps)

    def hyperparameters(self):
        return {"lr": self.lr, "beta1": self.beta1, "beta2": self.beta2}


OPTIMIZERS = {"sgd": SGD, "momentum": Momentum, "nesterov": Momentum, "adagrad": AdaGrad,
              "rmsprop": RMSprop, "adam": Adam}


def make(name, parameters, lr, momentum=0.9):
    """An optimizer by name: sgd, momentum, nesterov, adagrad, rmsprop or adam."""
    if not isinstance(name, str) or name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {tuple(OPTIMIZERS)}")
    if name in ("momentum", "nesterov"):
        return Momentum(parameters, lr=lr, momentum=momentum, nesterov=(name == "nesterov"))
    if name == "adam":
        return Adam(parameters, lr=lr, beta1=momentum)
    return OPTIMIZERS[name](parameters, lr=lr)
