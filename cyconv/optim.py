"""Optimizers, in order of increasing complexity.

Each takes ``model.parameters()`` — (name, param, grad) triples — and updates the parameter
arrays in place in ``step()``. ``lr`` (and ``momentum`` where there is one) may be changed
between steps. Per-parameter state (velocities, squared-gradient sums) is kept by name, so
``state_dict()`` can be saved and restored exactly.
"""
import math

import numpy as np

__all__ = ["Optimizer", "SGD", "Momentum", "AdaGrad", "RMSprop", "Adam", "OPTIMIZERS", "make"]


def _check_positive(value, what, owner, allow_zero=False):
    if isinstance(value, bool) or not isinstance(value, (int, float, np.floating)) \
            or not math.isfinite(value) or value < 0 or (value == 0 and not allow_zero):
        bound = "≥ 0" if allow_zero else "> 0"
        raise ValueError(f"{owner}: {what} must be a finite number {bound}, got {value!r}")
    return float(value)


class Optimizer:
    name = "optimizer"
    state_keys = ()

    def __init__(self, parameters, lr):
        self.parameters = list(parameters)
        if not self.parameters:
            raise ValueError(f"{self.name}: the model has no parameters to optimize")
        self.lr = lr
        self.t = 0
        self.state = {key: {name: np.zeros_like(param) for name, param, _ in self.parameters}
                      for key in self.state_keys}

    @property
    def lr(self):
        return self._lr

    @lr.setter
    def lr(self, value):
        self._lr = _check_positive(value, "lr", self.name)

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

    def __init__(self, parameters, lr=0.01, momentum=0.9, nesterov=False):
        self.momentum = momentum
        self.nesterov = bool(nesterov)
        super().__init__(parameters, lr)

    @property
    def momentum(self):
        return self._momentum

    @momentum.setter
    def momentum(self, value):
        value = _check_positive(value, "momentum", self.name, allow_zero=True)
        if value >= 1:
            raise ValueError(f"{self.name}: momentum must be below 1, got {value}")
        self._momentum = value

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

    def __init__(self, parameters, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
        self.beta1, self.beta2, self.eps = beta1, beta2, eps
        super().__init__(parameters, lr)

    @property
    def momentum(self):
        """beta1 plays the role of momentum, so the app's momentum control sets it."""
        return self.beta1

    @momentum.setter
    def momentum(self, value):
        value = _check_positive(value, "momentum (beta1)", self.name, allow_zero=True)
        if value >= 1:
            raise ValueError(f"{self.name}: beta1 must be below 1, got {value}")
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
    if name not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {name!r}; use one of {tuple(OPTIMIZERS)}")
    if name in ("momentum", "nesterov"):
        return Momentum(parameters, lr=lr, momentum=momentum, nesterov=(name == "nesterov"))
    if name == "adam":
        return Adam(parameters, lr=lr, beta1=momentum)
    return OPTIMIZERS[name](parameters, lr=lr)
