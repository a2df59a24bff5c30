"""Worked examples of each layer's backward pass: one unit's gradient by its formula, summed
term by term in float64, to stand next to the engine's number.

``explain(layer, x, y, dout, dx, grads)`` (arrays without the sample axis) returns
(detail, checks): detail holds the indices and the small arrays a viewer draws (the terms of
each sum), checks are (what, engine value, by-hand value) triples.
"""
from __future__ import annotations

import numpy as np

from ._geometry import window as layer_window


def _at(array, index):
    return float(np.asarray(array)[index])


def _peak(array) -> tuple:
    """The index of the largest |value| (the example most worth looking at)."""
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(np.abs(array))), np.shape(array)))


def _dense(layer, x, y, dout, dx, grads):
    w = layer.params["W"].astype(np.float64)
    o, = _peak(dout)
    i, = _peak(x * dout[o]) if np.any(x) else (0,)
    terms = np.stack([w[:, i], dout.astype(np.float64), w[:, i] * dout], axis=1)   # (out, 3)
    checks = [(f"dW[{o}, {i}] = dout[{o}]·x[{i}] = {dout[o]:.4g}·{x[i]:.4g}", _at(grads["W"], (o, i)),
               float(dout[o]) * float(x[i])),
              (f"dx[{i}] = Σₒ W[o, {i}]·dout[o] ({len(terms)} terms)", _at(dx, i), float(sum(terms[:, 2])))]
    if "b" in grads:
        checks.insert(1, (f"db[{o}] = dout[{o}]", _at(grads["b"], o), float(dout[o])))
    return {"out": o, "in": i, "dx_terms": terms}, checks


def _elementwise(layer, x, y, dout, dx, grads):
    kind = layer.type_name
    slope = {"ReLU": lambda v: 1.0 if v > 0 else 0.0,
             "LeakyReLU": lambda v: 1.0 if v > 0 else float(layer.negative_slope),
             "Sigmoid": None, "Tanh": None}[kind]
    flat_x, flat_y, flat_dout = x.reshape(-1), y.reshape(-1), dout.reshape(-1)
    picks = []
    for wanted in (flat_x > 0, flat_x <= 0):
        found = np.flatnonzero(wanted & (flat_dout != 0))
        if found.size:
            picks.append(int(found[np.argmax(np.abs(flat_dout[found]))]))
    checks, positions = [], []
    for p in picks:
        index = tuple(int(i) for i in np.unravel_index(p, x.shape))
        positions.append(index)
        if slope is not None:
            local = slope(float(flat_x[p]))
            text = f"dx{list(index)} = dout·[x > 0] = {flat_dout[p]:.4g}·{local:g}"
        else:
            yv = float(flat_y[p])
            local = yv * (1 - yv) if kind == "Sigmoid" else 1 - yv * yv
            text = f"dx{list(index)} = dout·{'y(1 − y)' if kind == 'Sigmoid' else '(1 − y²)'} = {flat_dout[p]:.4g}·{local:.4g}"
        checks.append((text, _at(dx, index), float(flat_dout[p]) * local))
    detail = {"mask": x > 0, "passed": int(np.count_nonzero(x > 0)), "total": int(x.size), "positions": tuple(positions)}
    return detail, checks


def _pool(layer, x, y, dout, dx, grads):
    kind = layer.type_name
    (kh, kw), (sh, sw), (ph, _, pw, _), _ = layer_window(layer, x.shape)
    c, oh, ow = _peak(dout)
    top, left = oh * sh - ph, ow * sw - pw
    rows = range(max(top, 0), min(top + kh, x.shape[1]))
    cols = range(max(left, 0), min(left + kw, x.shape[2]))
    window = x[c, rows.start:rows.stop, cols.start:cols.stop].astype(np.float64)
    detail = {"channel": c, "out": (oh, ow), "window": (top, left, kh, kw), "values": window,
              "dx_window": dx[c, rows.start:rows.stop, cols.start:cols.stop]}
    if kind == "AvgPool2D":
        r, q = rows.start, cols.start
        share = sum(float(dout[c, a, b]) / (kh * kw) for a in range(dout.shape[1]) for b in range(dout.shape[2])
                    if a * sh - ph <= r < a * sh - ph + kh and b * sw - pw <= q < b * sw - pw + kw)
        return detail, [(f"dx[{c}, {r}, {q}] = dout[{c}, {oh}, {ow}]/({kh}·{kw}) = {dout[c, oh, ow]:.4g}/{kh * kw}",
                         _at(dx, (c, r, q)), share)]
    flat = window.reshape(-1)
    best = int(np.argmax(flat) if kind == "MaxPool2D" else np.argmin(flat))     # the first on a tie, as the engine
    r, q = rows.start + best // window.shape[1], cols.start + best % window.shape[1]
    detail["winner"] = (r, q)
    won = 0.0                                   # overlapping windows may all send to one pixel
    for a in range(dout.shape[1]):
        for b in range(dout.shape[2]):
            t, l_ = a * sh - ph, b * sw - pw
            part = x[c, max(t, 0):t + kh, max(l_, 0):l_ + kw].astype(np.float64)
            if part.size == 0:
                continue
            pick = int(np.argmax(part) if kind == "MaxPool2D" else np.argmin(part))
            if (max(t, 0) + pick // part.shape[1], max(l_, 0) + pick % part.shape[1]) == (r, q):
                won += float(dout[c, a, b])
    return detail, [(f"dx[{c}, {r}, {q}] = dout[{c}, {oh}, {ow}] = {dout[c, oh, ow]:.4g} (the winner of its window)",
                     _at(dx, (c, r, q)), won)]


def _conv(layer, x, y, dout, dx, grads):
    w = layer.params["W"].astype(np.float64)
    _, (sh, sw), (top, _, left, _), (OH, OW) = layer_window(layer, x.shape)
    n_filters, _, kh, kw = w.shape
    c, r, q = _peak(dx)
    # dx as the full convolution of dout with the flipped filter: output (oh, ow) reaches
    # input pixel (r, q) through weight (i, j) = (r + top − oh·SH, q + left − ow·SW).
    terms = np.full((n_filters, kh, kw, 3), np.nan)
    for g in range(n_filters):
        for i in range(kh):
            for j in range(kw):
                a, b = r + top - i, q + left - j
                if a % sh or b % sw or not (0 <= a // sh < OH and 0 <= b // sw < OW):
                    continue
                terms[g, i, j] = dout[g, a // sh, b // sw], w[g, c, i, j], float(dout[g, a // sh, b // sw]) * w[g, c, i, j]
    by_hand_dx = float(np.nansum(terms[..., 2]))
    f = int(np.argmax(np.abs(np.nansum(terms[..., 2], axis=(1, 2)))))      # the filter that gave most of it
    dw = grads["W"]
    i, j = _peak(dw[f, c])
    xpad = np.pad(x[c].astype(np.float64), ((top, max(0, (OH - 1) * sh + kh - x.shape[1] - top)),
                                            (left, max(0, (OW - 1) * sw + kw - x.shape[2] - left))))
    seen = xpad[i:i + (OH - 1) * sh + 1:sh, j:j + (OW - 1) * sw + 1:sw]       # x under weight (i, j), per output
    by_hand_dw = float(sum(float(u) * float(v) for u, v in zip(seen.reshape(-1), dout[f].reshape(-1))))
    checks = [(f"dW[{f}, {c}, {i}, {j}] = Σ x[{c}, oh·{sh}+{i}, ow·{sw}+{j}]·dout[{f}, oh, ow] ({OH}×{OW} terms)",
               _at(dw, (f, c, i, j)), by_hand_dw),
              (f"dx[{c}, {r}, {q}] = Σ_f Σ_ij dout[f, ·]·W[f, {c}, i, j] (dout ⊛ flipped W)", _at(dx, (c, r, q)),
               by_hand_dx)]
    if "b" in grads:
        checks.insert(1, (f"db[{f}] = Σ dout[{f}, oh, ow]", _at(grads["b"], f),
                          float(sum(float(v) for v in dout[f].reshape(-1)))))
    detail = {"filter": f, "channel": c, "pixel": (r, q), "weight": (i, j), "dx_terms": terms,
              "filter_share": float(np.nansum(terms[f, ..., 2])),
              "dw_inputs": seen, "dout_map": dout[f], "exact": layer.padding_mode == "zeros"}
    return detail, checks


_EXPLAINERS = {"Dense": _dense, "ReLU": _elementwise, "LeakyReLU": _elementwise, "Sigmoid": _elementwise,
               "Tanh": _elementwise, "MaxPool2D": _pool, "MinPool2D": _pool, "AvgPool2D": _pool, "Conv2D": _conv}


def explain(layer, x, y, dout, dx, grads) -> tuple:
    """(detail, checks) for ``layer``; ({}, []) for the layers that only reshape or pass on."""
    explainer = _EXPLAINERS.get(layer.type_name)
    if explainer is None:
        return {}, []
    if layer.type_name == "Conv2D" and layer.padding_mode != "zeros":
        return {"exact": False}, []         # reflected padding folds gradients back: the reference checks it
    return explainer(layer, x.astype(np.float64), y, dout.astype(np.float64), dx, grads)
