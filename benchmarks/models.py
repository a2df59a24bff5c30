"""The four benchmark models, once, as cyconv layer configs — and the same networks in PyTorch
and in the NumPy reference, started from the same weights so every engine does identical work.

    A (1×28×28)  conv 1→10 5×5, relu, pool, conv 10→20 5×5, relu, pool, dense 320→100, relu,
                 dense 100→10                                  (mnist_cnn)
    B (1×28×28)  conv 1→6 5×5 p2, relu, pool, conv 6→16 5×5, relu, pool, dense 400→120, relu,
                 dense 120→84, relu, dense 84→10               (LeNet-5, modern form)
    C (1×39×31)  conv 1→20 4×4, relu, pool, conv 20→40 3×3, relu, pool, conv 40→60 3×3, relu,
                 pool, conv 60→80 2×2, relu, dense 160→100     (deepid)  
    D (3×32×32)  conv 3→32 3×3 p1, relu, conv 32→32 3×3 p1, relu, pool, conv 32→64 3×3 p1,
                 relu, pool, dense 4096→128, relu, dense 128→10  (small CIFAR-10 CNN)

Pooling is 2×2 max with stride 2, a Flatten precedes the first dense layer, and every model is
trained with softmax cross-entropy on its logits.

This module imports neither cyconv nor torch at the top: a torch benchmark process reads the
configs and the saved weights without loading cyconv (which would inflate its memory).
"""
import copy
import json
import sys

ENGINE_NAMES = ("cyconv", "torch", "reference")
MODEL_NAMES = ("A", "B", "C", "D")
SUPPORTED_TYPES = ("Conv2D", "MaxPool2D", "ReLU", "Flatten", "Dense")


def _conv(in_channels, out_channels, kernel, padding=0):
    return {"type": "Conv2D", "in_channels": in_channels, "out_channels": out_channels,
            "kernel_size": [kernel, kernel], "stride": [1, 1], "padding": padding,
            "padding_mode": "zeros", "bias": True}


def _pool():
    return {"type": "MaxPool2D", "kernel_size": [2, 2], "stride": [2, 2], "padding": [0, 0]}


def _relu():
    return {"type": "ReLU"}


def _flatten():
    return {"type": "Flatten"}


def _dense(in_features, out_features):
    return {"type": "Dense", "in_features": in_features, "out_features": out_features,
            "bias": True}


_MODELS = {
    "A": ((1, 28, 28), [
        _conv(1, 10, 5), _relu(), _pool(),
        _conv(10, 20, 5), _relu(), _pool(),
        _flatten(), _dense(320, 100), _relu(), _dense(100, 10)]),
    "B": ((1, 28, 28), [
        _conv(1, 6, 5, padding=2), _relu(), _pool(),
        _conv(6, 16, 5), _relu(), _pool(),
        _flatten(), _dense(400, 120), _relu(), _dense(120, 84), _relu(), _dense(84, 10)]),
    "C": ((1, 39, 31), [
        _conv(1, 20, 4), _relu(), _pool(),
        _conv(20, 40, 3), _relu(), _pool(),
        _conv(40, 60, 3), _relu(), _pool(),
        _conv(60, 80, 2), _relu(),
        _flatten(), _dense(160, 100)]),
    "D": ((3, 32, 32), [
        _conv(3, 32, 3, padding=1), _relu(),
        _conv(32, 32, 3, padding=1), _relu(), _pool(),
        _conv(32, 64, 3, padding=1), _relu(), _pool(),
        _flatten(), _dense(4096, 128), _relu(), _dense(128, 10)]),
}


# ----------------------------------------------------------------------------- configs

def model_config(name, image_size=None):
    """The cyconv model config {"name", "input_shape", "layers"} of model ``name`` (A–D).

    ``image_size`` (an int S) replaces the input's height and width by S×S and resizes the
    first dense layer to the new flattened size, for the image-size scaling runs.
    """
    if name not in _MODELS:
        raise ValueError(f"model_config: unknown model {name!r}; models are {MODEL_NAMES}")
    input_shape, layers = _MODELS[name]
    config = {"name": f"bench-{name}", "input_shape": list(input_shape),
              "layers": copy.deepcopy(layers)}
    if image_size is None:
        return config
    if isinstance(image_size, bool) or not isinstance(image_size, int) or image_size < 1:
        raise ValueError(f"model_config: image_size must be a positive int, got {image_size!r}")
    config["name"] = f"bench-{name}@{image_size}"
    config["input_shape"] = [input_shape[0], image_size, image_size]
    _refit_first_dense(config)
    return config


def layer_rows(config):
    """The ``cyconv.shapes`` rows of ``config``: shapes, padding, parameters, multiply-adds."""
    from cyconv import shapes   # pure Python: loads no kernel, so torch processes may call it

    return shapes.layer_rows(config["layers"], tuple(config["input_shape"]), partial=False)



def layer_shapes(config):
    """The output shape of every layer, (C, H, W) or (D,), from the config alone
    (``cyconv.shapes``: OH = (H + 2P − K)/S + 1, floored)."""
    for index, layer in enumerate(config["layers"]):
        if layer["type"] not in SUPPORTED_TYPES:
            raise ValueError(f"layer {index} ({layer['type']}): the benchmarks use only "
                             f"{SUPPORTED_TYPES}")
    return [row.output_chw for row in layer_rows(config)]


def _refit_first_dense(config):
    first = next(layer for layer in config["layers"] if layer["type"] == "Dense")
    del first["in_features"]          # inferred from the new image size, then written back
    first["in_features"] = layer_rows(config)[config["layers"].index(first)].input_chw[0]


def layer_names(config):
    """conv1, relu1, pool1, ... : the names cyconv.Sequential gives the layers, so per-layer
    rows of both engines line up."""
    from cyconv import shapes

    return shapes.default_names(config["layers"])


def macs_per_sample(config):
    """Multiply-adds of one forward pass per sample (conv and dense only): the work a step
    scales with, printed beside the times so the ratios can be read against the work
    (``benchmarks.flops`` turns it into a training step's FLOPs)."""
    return sum(row.macs for row in layer_rows(config))


# ----------------------------------------------------------------------------- weights

def cyconv_model(config, seed=0):
    """The cyconv Sequential of ``config``, weights drawn with ``seed`` (float32)."""
    import cyconv

    return cyconv.Sequential.from_config(config, seed=seed)


def initial_weights(config, seed=0):
    """[(name, array)] in the model's parameter order: the weights every engine starts from."""
    model = cyconv_model(config, seed)
    return [(name, param.copy()) for name, param, _ in model.parameters()]


def save_weights(path, weights):
    """Write [(name, array)] to an .npz file, keeping the order in the keys."""
    import numpy as np

    np.savez(path, **{f"{index:03d}:{name}": array for index, (name, array) in
                      enumerate(weights)})


def load_weights(path):
    """[(name, array)] in the order :func:`save_weights` was given."""
    import numpy as np

    with np.load(path) as saved:
        return [(key.split(":", 1)[1], saved[key]) for key in sorted(saved.files)]


def _check_weight_count(weights, expected, engine):
    if len(weights) != expected:
        raise ValueError(f"{engine}: the model has {expected} parameter arrays but "
                         f"{len(weights)} weights were given")


# ----------------------------------------------------------------------------- PyTorch

def build_torch(config, weights):
    """An equivalent torch ``nn.Sequential`` holding copies of ``weights`` [(name, array)].

    Layouts agree without transposes: Conv2d weights are (F, C, KH, KW) and Linear weights
    (out_features, in_features) in both engines, and both flatten NCHW row-major.
    """
    import torch

    from cyconv.export import torch_from_configs

    model = torch_from_configs(config["layers"], tuple(config["input_shape"])).train()
    params = list(model.parameters())
    _check_weight_count(weights, len(params), "build_torch")
    with torch.no_grad():
        for param, (name, array) in zip(params, weights):
            if tuple(param.shape) != array.shape:
                raise ValueError(f"build_torch: {name} has shape {array.shape}, the torch "
                                 f"parameter {tuple(param.shape)}")
            param.copy_(torch.from_numpy(array))
    return model


# ----------------------------------------------------------------------------- NumPy reference

def _param_shapes(layer, row):
    """{"W": shape, "b": shape} of a layer with parameters (its schema entry), else {}."""
    from cyconv import schema

    entry = schema.spec(layer["type"])
    if not entry.has_params:
        return {}
    return entry.param_shapes(schema.check_config(layer, row.name), row.input_chw)


class ReferenceNet:
    """The textbook NumPy training step, written with ``cyconv.reference`` functions only:
    forward through every layer, fused softmax cross-entropy, backward in reverse, plain SGD.

    It computes the input gradient of every layer, the first included, as a textbook engine
    does; cyconv and torch skip the first layer's (nobody needs the images' gradient).
    """

    def __init__(self, config, weights):
        from cyconv import reference

        self._ref = reference
        self.config = config
        self.layers = config["layers"]
        self._rows = layer_rows(config)
        for index, layer in enumerate(self.layers):
            if layer["type"] not in SUPPORTED_TYPES:
                raise ValueError(f"ReferenceNet: layer {index} has type {layer['type']!r}; "
                                 f"the benchmarks use only {SUPPORTED_TYPES}")
        self.grads = [{} for _ in self.layers]
        # The parameter arrays each layer has, in cyconv's order, from the schema entries.
        keys = [list(_param_shapes(layer, row)) for layer, row in zip(self.layers, self._rows)]
        _check_weight_count(weights, sum(map(len, keys)), "ReferenceNet")
        remaining = iter(weights)
        self.params = [{key: next(remaining)[1].copy() for key in layer_keys}
                       for layer_keys in keys]
        self._caches = [None] * len(self.layers)

    def forward(self, x):
        """Logits (N, classes) for images x (N, C, H, W); keeps what backward needs."""
        ref = self._ref
        for index, layer in enumerate(self.layers):
            kind, params = layer["type"], self.params[index]
            if kind == "Conv2D":
                pads = self._rows[index].padding_tblr
                self._caches[index] = (x, pads)
                x = ref.conv2d_forward(x, params["W"], params.get("b"), tuple(layer["stride"]),
                                       pads, layer["padding_mode"])
            elif kind == "MaxPool2D":
                pads = self._rows[index].padding_tblr
                out, arg = ref.pool2d_forward(x, "max", tuple(layer["kernel_size"]),
                                              tuple(layer["stride"]), pads)
                self._caches[index] = (x.shape, pads, arg)
                x = out
            elif kind == "ReLU":
                self._caches[index] = x
                x = ref.relu_forward(x)
            elif kind == "Flatten":
                self._caches[index] = x.shape
                x = x.reshape(x.shape[0], -1)
            else:  # Dense
                self._caches[index] = x
                x = ref.dense_forward(x, params["W"], params.get("b"))
        return x

    def backward(self, dout):
        """Fill ``grads`` from dL/dlogits (N, classes); returns dL/dx (N, C, H, W)."""
        ref = self._ref
        for index in range(len(self.layers) - 1, -1, -1):
            layer, cache = self.layers[index], self._caches[index]
            kind, params, grads = layer["type"], self.params[index], self.grads[index]
            if kind == "Conv2D":
                x, pads = cache
                dout, grads["W"], db = ref.conv2d_backward(
                    dout, x, params["W"], tuple(layer["stride"]), pads, layer["padding_mode"],
                    has_bias="b" in params)
                if db is not None:
                    grads["b"] = db
            elif kind == "MaxPool2D":
                x_shape, pads, arg = cache
                dout = ref.pool2d_backward(dout, x_shape, "max", tuple(layer["kernel_size"]),
                                           tuple(layer["stride"]), pads, arg)
            elif kind == "ReLU":
                dout = ref.relu_backward(dout, cache)
            elif kind == "Flatten":
                dout = dout.reshape(cache)
            else:  # Dense
                dout, grads["W"], db = ref.dense_backward(dout, cache, params["W"],
                                                          has_bias="b" in params)
                if db is not None:
                    grads["b"] = db
        return dout

    def sgd(self, lr):
        """θ ← θ − lr·g for every parameter, in place."""
        for params, grads in zip(self.params, self.grads):
            for key, param in params.items():
                param -= lr * grads[key]

    def train_step(self, x, labels, lr):
        """One full step (forward, loss, backward, SGD update); returns the loss."""
        loss, dlogits = self._ref.softmax_cross_entropy(self.forward(x), labels)
        self.backward(dlogits)
        self.sgd(lr)
        return loss

    def parameters(self):
        """[(name, param, grad)] in the cyconv order (layer by layer, W then b)."""
        rows = []
        for index, (params, grads) in enumerate(zip(self.params, self.grads)):
            for key, param in params.items():
                rows.append((f"layer{index}.{key}", param, grads.get(key)))
        return rows


# ----------------------------------------------------------------------------- equivalence

def compare_engines(name, batch=4, seed=0, with_torch=True):
    """Run one training step of model ``name`` in every engine from the same weights and data.

    Returns {"reference": {...}, "torch": {...} or None}, each with the largest absolute
    difference from cyconv in the logits, the loss and the updated weights. Differences are
    float32 rounding (~1e-6) when the engines do the same work; anything large means the
    benchmark would compare different networks.
    """
    import numpy as np

    import cyconv

    config = model_config(name)
    model = cyconv_model(config, seed)
    weights = [(n, p.copy()) for n, p, _ in model.parameters()]
    rng = np.random.default_rng(seed + 1)
    x = rng.standard_normal((batch,) + tuple(config["input_shape"])).astype(np.float32)
    labels = rng.integers(0, model.output_shape[0], size=batch)
    lr = 0.1

    loss_fn = cyconv.losses.SoftmaxCrossEntropy()
    logits = model.forward(x)
    loss = loss_fn.forward(logits, labels)
    model.backward(loss_fn.backward())
    cyconv.optim.SGD(model.parameters(), lr=lr).step()
    updated = [p for _, p, _ in model.parameters()]

    reference = ReferenceNet(config, weights)
    ref_logits = reference.forward(x)
    ref_loss = reference.train_step(x, labels, lr)
    result = {"reference": _differences(logits, ref_logits, loss, ref_loss, updated,
                                        [p for _, p, _ in reference.parameters()])}
    result["torch"] = _torch_differences(config, weights, x, labels, lr, logits, loss,
                                         updated) if with_torch else None
    return result


def _torch_differences(config, weights, x, labels, lr, logits, loss, updated):
    import numpy as np
    import torch

    net = build_torch(config, weights)
    inputs, targets = torch.from_numpy(x), torch.from_numpy(labels.astype(np.int64))
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    out = net(inputs)
    torch_loss = torch.nn.functional.cross_entropy(out, targets)
    torch_loss.backward()
    optimizer.step()
    return _differences(logits, out.detach().numpy(), loss, torch_loss.item(), updated,
                        [p.detach().numpy() for p in net.parameters()])


def _differences(logits, other_logits, loss, other_loss, params, other_params):
    import numpy as np

    return {"logits": float(np.max(np.abs(logits - other_logits))),
            "loss": abs(float(loss) - float(other_loss)),
            "updated_weights": max(float(np.max(np.abs(a - b)))
                                   for a, b in zip(params, other_params))}


def _main(argv):
    """``python -m benchmarks.models --check A,B [--no-torch]``: print the differences as JSON."""
    import argparse

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", default=",".join(MODEL_NAMES),
                        help="models to compare across engines, e.g. A,B")
    parser.add_argument("--no-torch", action="store_true")
    args = parser.parse_args(argv)
    names = [n for n in args.check.split(",") if n]
    print(json.dumps({n: compare_engines(n, with_torch=not args.no_torch) for n in names}))


if __name__ == "__main__":
    _main(sys.argv[1:])
