"""One handler per ONNX operator (or per short pattern of them) for onnx_import's chain walk.

Each handler checks the node's attributes against what cyconv computes, appends the layer to
the walk and moves the walk past the nodes it consumed. Every refusal is one line naming the
operator, the node and what cyconv supports instead.
"""
import numpy as np

from ._onnx_values import Attributes, broadcasts_to, float32_value, same_pads
from .common import padding_value

__all__ = ["OnnxLayers", "PATTERN_OPERATORS"]

# Operators cyconv reads only inside a pattern (min pooling, biases, even-size LRN).
PATTERN_OPERATORS = {
    "Neg": "Neg, MaxPool, Neg (min pooling)",
    "Add": "an Add of a per-channel bias right after Conv, MatMul or Gemm",
    "Mul": "the even-size LRN encoding (x·x, a 1×1 Conv with a band of ones, ·alpha/size, "
           "+k, ^beta, x / that)",
    "Pow": "the even-size LRN encoding", "Div": "the even-size LRN encoding",
}
_PAD_MODES = {"constant": "zeros", "edge": "replicate", "reflect": "reflect", "wrap": "circular"}


class OnnxLayers:
    """Dispatches each node of the walk to its handler."""

    def __init__(self, walk):
        self.walk = walk
        activation = self._activation
        self._handlers = {
            "Conv": self._conv, "Pad": self._pad, "MaxPool": self._pool,
            "AveragePool": self._pool, "GlobalAveragePool": self._global_pool,
            "GlobalMaxPool": self._global_pool, "Gemm": self._gemm, "MatMul": self._matmul,
            "Flatten": self._flatten, "Reshape": self._reshape, "Relu": activation,
            "Sigmoid": activation, "Tanh": activation, "LeakyRelu": activation,
            "Softmax": self._softmax, "LRN": self._lrn, "Dropout": self._pass_through,
            "Identity": self._pass_through, "Neg": self._min_pool, "Mul": self._even_lrn,
            "BatchNormalization": self._batchnorm,
        }

    def take(self, node):
        handler = self._handlers.get(node.op_type, self._stray)
        handler(node)

    # -- shared checks -----------------------------------------------------------------------
    def _only(self, node, attributes, allowed):
        extra = sorted(set(attributes) - set(allowed))
        if extra:
            supported = ", ".join(allowed) if allowed else "none"
            self.walk.fail(node, f"attribute {extra[0]} is not supported (cyconv reads: "
                                 f"{supported})")

    def _needs_image(self, node):
        if len(self.walk.shape) != 3:
            self.walk.fail(node, f"needs an (N, C, H, W) input; here the input is (N, "
                                 f"{self.walk.shape[0]}) after a Flatten")

    def _needs_vector(self, node, what):
        if len(self.walk.shape) != 1:
            self.walk.fail(node, f"{what} takes (N, D) vectors; here the input is (N, "
                                 f"{', '.join(map(str, self.walk.shape))}): put a Flatten "
                                 f"before it")

    def _weight(self, node, position, what, ndim=None):
        value = self.walk.constant(node, position, what)
        if value is None:
            return None
        if value.dtype.kind != "f":
            self.walk.fail(node, f"its {what} has dtype {value.dtype}; cyconv needs floats")
        if ndim is not None and value.ndim != ndim:
            self.walk.fail(node, f"its {what} has shape {value.shape}, expected {ndim} axes")
        if not np.all(np.isfinite(value)):
            self.walk.fail(node, f"its {what} holds NaN or infinite values")
        return value.astype(np.float32)

    def _unused_outputs(self, node):
        for name in node.output[1:]:
            if name and name in self.walk.used:
                self.walk.fail(node, f"its extra output {name!r} is used; cyconv computes only "
                                     f"the first output")

    def _pads(self, node, attributes, kernel, strides):
        """(top, bottom, left, right) from pads or auto_pad, for the current input size."""
        auto = attributes.text("auto_pad", "NOTSET")
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            (top, bottom), (left, right) = (
                same_pads(size, k, s, auto == "SAME_UPPER")
                for size, k, s in zip(self.walk.shape[1:], kernel, strides))
            return top, bottom, left, right
        if auto == "VALID":
            return 0, 0, 0, 0
        if auto != "NOTSET":
            self.walk.fail(node, f"auto_pad={auto} is not an ONNX padding mode")
        pads = attributes.integers("pads", [0, 0, 0, 0])
        if len(pads) != 4 or any(p < 0 for p in pads):
            self.walk.fail(node, f"pads {pads} must be 4 values ≥ 0 (2-D, no cropping)")
        top, left, bottom, right = pads                 # ONNX: the begins, then the ends
        return top, bottom, left, right

    def _geometry(self, node, attributes, kernel):
        strides = tuple(attributes.integers("strides", [1, 1]))
        if len(kernel) != 2 or len(strides) != 2 or min(strides) < 1:
            self.walk.fail(node, f"kernel {list(kernel)} and strides {list(strides)} must be "
                                 f"2-D and positive: cyconv works on 2-D images")
        dilations = tuple(attributes.integers("dilations", [1, 1]))
        if len(dilations) != 2 or min(dilations) < 1:
            self.walk.fail(node, f"dilations {list(dilations)} must be 2 values ≥ 1")
        # SAME padding covers the dilated span D·(K − 1) + 1 of the kernel.
        span = tuple(d * (k - 1) + 1 for d, k in zip(dilations, kernel))
        return strides, self._pads(node, attributes, span, strides), dilations

    def _bias_add(self, node, tensor, channels, image):
        """The bias an Add right after (``node``, reading ``tensor``) adds per channel, or
        None when ``node`` is not such an Add."""
        walk = self.walk
        if node is None or node.op_type != "Add" or walk.data_inputs(node) != [tensor]:
            return None
        other = [name for name in node.input if name != tensor]
        if len(other) != 1 or other[0] not in walk.constants:
            return None
        value = walk.constants[other[0]]
        target = (1, channels, 1, 1) if image else (1, channels)
        if value.dtype.kind != "f" or not broadcasts_to(value.shape, target):
            return None
        return np.broadcast_to(value, target).reshape(channels).astype(np.float32)

    # -- convolution -------------------------------------------------------------------------
    def _pad(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("mode", "pads", "value"))
        self._needs_image(node)
        mode = attributes.text("mode", "constant")
        if mode not in _PAD_MODES:
            walk.fail(node, f"mode {mode!r} is not supported (cyconv: constant 0, edge, reflect, "
                            f"wrap)")
        pads = attributes.integers("pads", None)
        pads = walk.constant(node, 1, "pads") if pads is None else np.asarray(pads)
        axes = walk.constant(node, 3, "axes")
        value = walk.constant(node, 2, "constant value")
        value = attributes.number("value", 0.0) if value is None else value
        if mode == "constant" and np.any(np.asarray(value) != 0):
            walk.fail(node, f"pads with the constant {np.asarray(value).ravel()[:1]}; cyconv "
                            f"pads with zeros")
        pads = self._pad_amounts(node, pads, axes)
        following = walk.peek(1)
        if following is None or following.op_type != "Conv" or \
                not walk.follows(following, node.output[0]):
            walk.fail(node, "cyconv imports a Pad only right before the Conv it pads (as the "
                            "padding of that convolution)")
        walk.advance(1, node.output[0])
        self._conv(following, pad=(_PAD_MODES[mode], pads))

    def _pad_amounts(self, node, pads, axes):
        pads = [int(v) for v in np.asarray(pads).ravel()] if pads is not None else []
        if axes is not None:                           # opset 18: pads for these axes only
            full = [0] * 8
            axes = [int(a) % 4 for a in np.asarray(axes).ravel()]
            if len(pads) != 2 * len(axes):
                self.walk.fail(node, f"pads {pads} do not match axes {axes}")
            for position, axis in enumerate(axes):
                full[axis], full[axis + 4] = pads[position], pads[position + len(axes)]
            pads = full
        if len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)) or min(pads) < 0:
            self.walk.fail(node, f"pads {pads} must pad only H and W, by amounts ≥ 0")
        return pads[2], pads[6], pads[3], pads[7]      # top, bottom, left, right

    def _conv(self, node, pad=None):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("auto_pad", "dilations", "group", "kernel_shape", "pads",
                                      "strides"))
        self._needs_image(node)
        weight = self._weight(node, 1, "weight", ndim=4)
        if weight is None:
            walk.fail(node, "has no weight input")
        groups = attributes.integer("group", 1)
        if groups < 1:
            walk.fail(node, f"group={groups} must be at least 1")
        kernel = tuple(weight.shape[2:])
        if tuple(attributes.integers("kernel_shape", list(kernel))) != kernel:
            walk.fail(node, f"kernel_shape {attributes.integers('kernel_shape', None)} differs from the weight's "
                            f"{list(kernel)}")
        strides, tblr, dilations = self._geometry(node, attributes, kernel)
        mode = "zeros"
        if pad is not None:
            mode, extra = pad
            if mode != "zeros" and any(tblr):
                walk.fail(node, f"pads again after a Pad in {mode} mode; cyconv has one padding "
                                f"per convolution")
            tblr = tuple(a + b for a, b in zip(tblr, extra))
        bias = self._weight(node, 2, "bias", ndim=1)
        filters = weight.shape[0]
        output, consumed = node.output[0], 1
        added = self._bias_add(walk.peek(1), output, filters, image=True)
        if added is not None:
            bias = added if bias is None else bias + added
            output, consumed = walk.peek(1).output[0], 2
        config = {"type": "Conv2D", "in_channels": int(weight.shape[1]) * groups,
                  "out_channels": int(filters), "kernel_size": list(kernel),
                  "stride": list(strides), "padding": padding_value(tblr),
                  "padding_mode": mode, "bias": bias is not None,
                  "dilation": list(dilations), "groups": groups}
        walk.add(node, config, {"W": weight} if bias is None else {"W": weight, "b": bias})
        walk.advance(consumed, output)

    # -- pooling -----------------------------------------------------------------------------
    def _pool(self, node, kind=None, name=None, consumed=1, output=None):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("auto_pad", "ceil_mode", "count_include_pad", "dilations",
                                      "kernel_shape", "pads", "storage_order", "strides"))
        self._needs_image(node)
        self._unused_outputs(node)
        if "kernel_shape" not in attributes:
            walk.fail(node, "has no kernel_shape")
        if len(attributes.integers("kernel_shape", None)) != 2:
            walk.fail(node, "kernel_shape must have 2 values: cyconv pools 2-D images")
        kernel = tuple(attributes.integers("kernel_shape", None))
        strides, (top, bottom, left, right), dilations = self._geometry(node, attributes,
                                                                         kernel)
        if top != bottom or left != right:
            walk.fail(node, f"pads (top {top}, bottom {bottom}, left {left}, right {right}) are "
                            f"not symmetric; cyconv's pooling pads both sides alike")
        kind = kind or {"MaxPool": "MaxPool2D", "AveragePool": "AvgPool2D"}[node.op_type]
        options = {"ceil_mode": bool(attributes.integer("ceil_mode", 0))}
        if node.op_type == "AveragePool":
            if dilations != (1, 1):
                walk.fail(node, f"dilations {list(dilations)}: cyconv's average pooling is not "
                                f"dilated")
            options["count_include_pad"] = bool(attributes.integer("count_include_pad", 0))
        else:
            options["dilation"] = list(dilations)
        config = {"type": kind, "kernel_size": list(kernel), "stride": list(strides),
                  "padding": [top, left], **options}
        walk.add(node, config, name=name)
        walk.advance(consumed, output or node.output[0])

    def _global_pool(self, node):
        walk = self.walk
        walk.reads_current(node)
        self._only(node, Attributes(walk, node), ())
        self._needs_image(node)
        window = list(walk.shape[1:])
        kind = "AvgPool2D" if node.op_type == "GlobalAveragePool" else "MaxPool2D"
        walk.add(node, {"type": kind, "kernel_size": window, "stride": window, "padding": [0, 0]})
        walk.advance(1, node.output[0])

    def _min_pool(self, node):
        walk = self.walk
        pool, back = walk.peek(1), walk.peek(2)
        if not (pool is not None and pool.op_type == "MaxPool" and
                walk.follows(pool, node.output[0]) and back is not None and
                back.op_type == "Neg" and walk.follows(back, pool.output[0])):
            self._stray(node)
        walk.reads_current(node)
        walk.advance(1, node.output[0])
        self._pool(pool, kind="MinPool2D", name=back.name, consumed=2, output=back.output[0])

    # -- dense -------------------------------------------------------------------------------
    def _dense(self, node, weight, bias):
        """Append Dense(W (out, in), b), folding an Add of a bias that follows."""
        walk = self.walk
        features = walk.shape[0]
        if weight.shape[1] != features:
            walk.fail(node, f"its weight maps {weight.shape[1]} inputs, but the input has "
                            f"{features} features")
        output, consumed = node.output[0], 1
        added = self._bias_add(walk.peek(1), output, weight.shape[0], image=False)
        if added is not None:
            bias = added if bias is None else bias + added
            output, consumed = walk.peek(1).output[0], 2
        config = {"type": "Dense", "in_features": int(weight.shape[1]),
                  "out_features": int(weight.shape[0]), "bias": bias is not None}
        walk.add(node, config, {"W": weight} if bias is None else {"W": weight, "b": bias})
        walk.advance(consumed, output)

    def _gemm(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("alpha", "beta", "transA", "transB"))
        self._needs_vector(node, "Gemm")
        if attributes.integer("transA", 0):
            walk.fail(node, "transA=1 is not supported: the input must be (N, D)")
        matrix = self._weight(node, 1, "weight", ndim=2)
        if matrix is None:
            walk.fail(node, "has no weight input")
        weight = matrix if attributes.integer("transB", 0) else matrix.T
        alpha = attributes.number("alpha", 1.0)
        weight = np.ascontiguousarray(weight if alpha == 1.0 else weight * np.float32(alpha))
        bias = walk.constant(node, 2, "bias")
        if bias is not None:
            target = (1, weight.shape[0])
            if bias.dtype.kind != "f" or not broadcasts_to(bias.shape, target):
                walk.fail(node, f"its bias has shape {bias.shape}; expected ({target[1]},)")
            bias = np.broadcast_to(bias, target).reshape(-1).astype(np.float32) * \
                np.float32(attributes.number("beta", 1.0))
        self._dense(node, weight, bias)

    def _matmul(self, node):
        walk = self.walk
        walk.reads_current(node)
        self._only(node, Attributes(walk, node), ())
        self._needs_vector(node, "MatMul")
        matrix = self._weight(node, 1, "weight", ndim=2)
        if matrix is None:
            walk.fail(node, "must multiply by a constant weight (D, K)")
        self._dense(node, np.ascontiguousarray(matrix.T), None)

    # -- reshaping ---------------------------------------------------------------------------
    def _flatten(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("axis",))
        rank = 1 + len(walk.shape)
        axis = attributes.integer("axis", 1)
        if axis % rank != 1:
            walk.fail(node, f"axis={axis} is not supported: cyconv's Flatten keeps the batch "
                            f"axis only (axis 1)")
        self._add_flatten(node)

    def _add_flatten(self, node):
        self.walk.add(node, {"type": "Flatten"})
        self.walk.advance(1, node.output[0])

    def _reshape(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("allowzero",))
        target = walk.constant(node, 1, "shape")
        if target is None:
            walk.fail(node, "has no shape input")
        target = [int(v) for v in np.asarray(target).ravel()]
        features = int(np.prod(walk.shape))
        keeps_batch = len(target) == 2 and (target[0] > 0 or (target[0] == 0 and
                                            not attributes.integer("allowzero", 0)))
        if not (len(target) == 2 and target[1] in (-1, features) and
                (keeps_batch or (target[0] == -1 and target[1] == features))):
            walk.fail(node, f"reshapes to {target}; cyconv imports a Reshape only as a flatten "
                            f"to (N, {features})")
        if len(walk.shape) == 1:
            walk.advance(1, node.output[0])            # already (N, D): nothing to do
        else:
            self._add_flatten(node)

    # -- element-wise ------------------------------------------------------------------------
    def _activation(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        if node.op_type == "LeakyRelu":
            self._only(node, attributes, ("alpha",))
            config = {"type": "LeakyReLU",
                      "negative_slope": float32_value(attributes.number("alpha", 0.01))}
        else:
            self._only(node, attributes, ())
            config = {"type": {"Relu": "ReLU", "Sigmoid": "Sigmoid", "Tanh": "Tanh"}[node.op_type]}
        walk.add(node, config)
        walk.advance(1, node.output[0])

    def _batchnorm(self, node):
        """BatchNormalization in inference form → BatchNorm2D (images) or BatchNorm1D."""
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("epsilon", "momentum", "training_mode", "spatial"))
        self._unused_outputs(node)
        if attributes.integer("training_mode", 0):
            walk.fail(node, "training_mode=1: cyconv imports models for inference")
        arrays = {key: self._weight(node, position, key, ndim=1) for position, key in
                  enumerate(("gamma", "beta", "running_mean", "running_var"), start=1)}
        missing = [key for key, value in arrays.items() if value is None]
        if missing:
            walk.fail(node, f"has no {missing[0]} input")
        kind = "BatchNorm2D" if len(walk.shape) == 3 else "BatchNorm1D"
        config = {"type": kind, "num_features": int(arrays["gamma"].shape[0]),
                  "eps": float32_value(attributes.number("epsilon", 1e-5))}
        walk.add(node, config, arrays)
        walk.advance(1, node.output[0])

    def _softmax(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("axis",))
        self._needs_vector(node, "cyconv's Softmax (over class scores)")
        axis = attributes.integer("axis", 1 if walk.opset < 13 else -1)
        if axis % 2 != 1:
            walk.fail(node, f"axis={axis}: cyconv's Softmax runs over the class axis (1)")
        walk.add(node, {"type": "Softmax"})
        walk.advance(1, node.output[0])

    def _pass_through(self, node):
        walk = self.walk
        walk.reads_current(node)
        self._unused_outputs(node)
        training = walk.constant(node, 2, "training_mode") if node.op_type == "Dropout" else None
        if training is not None and bool(np.asarray(training).ravel()[0]):
            walk.fail(node, "training_mode=true: cyconv imports models for inference, where "
                            "dropout is the identity")
        walk.advance(1, node.output[0])

    def _stray(self, node):
        self.walk.fail(node, f"cyconv imports {node.op_type} only as part of "
                             f"{PATTERN_OPERATORS.get(node.op_type, 'a known pattern')}")

    # -- local response normalization --------------------------------------------------------
    def _lrn(self, node):
        walk = self.walk
        walk.reads_current(node)
        attributes = Attributes(walk, node)
        self._only(node, attributes, ("alpha", "beta", "bias", "size"))
        self._needs_image(node)
        size = attributes.integer("size", 0)
        if size < 1 or size % 2 == 0:
            walk.fail(node, f"size={size}: only odd sizes are imported (ONNX and cyconv centre "
                            f"an even window differently)")
        walk.add(node, {"type": "LRN", "size": size,
                        "alpha": float32_value(attributes.number("alpha", 1e-4)),
                        "beta": float32_value(attributes.number("beta", 0.75)),
                        "k": float32_value(attributes.number("bias", 1.0))})
        walk.advance(1, node.output[0])

    def _even_lrn(self, node):
        from ._onnx_lrn import match_even_lrn

        found = match_even_lrn(self.walk, node)
        if found is None:
            self._stray(node)
        config, last, consumed = found
        self.walk.add(last, config)
        self.walk.advance(consumed, last.output[0])
