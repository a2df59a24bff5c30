"""The floating-point work of a benchmark step, counted from the model config alone.

Only the matrix products are counted, the work the matmul ceiling measures: each
convolution and dense layer's multiply-adds (``cyconv.shapes`` rows' ``macs``, per sample:
weights × output positions), two FLOPs each.

- forward: 2 · macs per sample (``out = W @ col``, ``y = x @ Wᵀ``);
- backward: the weight-gradient GEMM (``dW = dout @ colᵀ``) and the input-gradient GEMM
  (``dcol = Wᵀ @ dout``) each do the forward's multiply-adds again, except that the first
  layer skips its input gradient (nobody needs the images' gradient; cyconv and torch both
  skip it).

So a training step is 2 · N · Σ macs · (3, or 2 for the first layer), an inference pass
2 · N · Σ macs. Bias additions, activations, pooling, the loss, the SGD update and im2col's
copies are not counted: they are memory work, and the time they take lowers the share of
the ceiling a step reaches, as it should.
"""
from . import models

GEMM_TYPES = ("Conv2D", "Dense")


def layer_flops(config):
    """Per sample, for each convolution and dense layer: {"layer", "type", "macs",
    "forward", "weight_grad", "input_grad"} in FLOPs (the first layer's input_grad is 0)."""
    rows = []
    names = models.layer_names(config)
    for index, (layer, row) in enumerate(zip(config["layers"], models.layer_rows(config))):
        if layer["type"] not in GEMM_TYPES:
            continue
        flops = 2 * row.macs
        rows.append({"layer": names[index], "type": layer["type"], "macs": row.macs,
                     "forward": flops, "weight_grad": flops,
                     "input_grad": 0 if index == 0 else flops})
    return rows


def step_flops(config, batch, mode):
    """FLOPs of one step of ``mode`` ("train": forward, dW and dx GEMMs; "infer": forward)
    on ``batch`` samples."""
    if mode not in ("train", "infer"):
        raise ValueError(f"step_flops: mode must be 'train' or 'infer', got {mode!r}")
    if isinstance(batch, bool) or not isinstance(batch, int) or batch < 1:
        raise ValueError(f"step_flops: batch must be a positive int, got {batch!r}")
    keys = ("forward", "weight_grad", "input_grad") if mode == "train" else ("forward",)
    return batch * sum(row[key] for row in layer_flops(config) for key in keys)


def gflops_per_second(flops, milliseconds):
    """Achieved GFLOP/s of ``flops`` done in ``milliseconds``; None without a time."""
    if not milliseconds:
        return None
    return flops / (milliseconds * 1e-3) / 1e9
