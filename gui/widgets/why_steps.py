"""The backward pass's steps as rich text (no Qt): the rule of each layer, its worked
numbers ("engine 0.0123; by hand 0.0123") and small tables of the values that went in."""
from __future__ import annotations

import html

import numpy as np

from cyconv.explain import LOSS_KIND
from cyconv.lab.i18n import tr
from .why_common import number

_MARK = "#ffd666"          # a highlighted cell: the winner, the product being summed
_MAX_TERMS = 8
_VECTOR_ENTRIES = 12


def table(values, *, marked=(), caption: str = "") -> str:
    """A 2-D (or 1-D) array as an HTML table of numbers; ``marked`` cells are highlighted."""
    values = np.atleast_2d(np.asarray(values, np.float64))
    rows = []
    for r, line in enumerate(values):
        cells = "".join(f"<td align='right'{' bgcolor=' + repr(_MARK) if (r, c) in marked else ''}>"
                        f"{'' if not np.isfinite(v) else f'{v + 0.0:.3g}'}</td>" for c, v in enumerate(line))
        rows.append(f"<tr>{cells}</tr>")
    title = f"<caption>{html.escape(caption)}</caption>" if caption else ""
    return f"<table border='1' cellspacing='0' cellpadding='2'>{title}{''.join(rows)}</table>"


def side_by_side(*parts: str) -> str:
    return "<table><tr>" + "".join(f"<td valign='top'>{part}</td>" for part in parts) + "</tr></table>"


def crop(array, centre, radius: int = 2):
    """The (2·radius+1)² neighbourhood of ``centre`` in a 2-D array (cut at the edges), and
    the centre's position in it."""
    r, c = centre
    top, left = max(r - radius, 0), max(c - radius, 0)
    return array[top:r + radius + 1, left:c + radius + 1], (r - top, c - left)


def checks_html(step) -> str:
    lines = [f"<li><tt>{html.escape(check.what)}</tt>: <b>{tr('why.engine_hand', engine=number(check.engine), hand=number(check.by_hand))}</b></li>"
             for check in step.checks]
    lines += [f"<li>{html.escape(tr('why.reference', name=name, value=value))}</li>"
              for name, value in step.differences.items()]
    return f"<ul>{''.join(lines)}</ul>"


def _loss(step, walk, classes) -> str:
    detail = step.detail
    rows = "".join(f"<tr{' bgcolor=' + repr(_MARK) if k == detail['label'] else ''}><td>{html.escape(name)}</td>"
                   f"<td align='right'>{number(step.x[k])}</td><td align='right'>{number(detail['probabilities'][k])}</td>"
                   f"<td align='right'>{detail['onehot'][k]:.0f}</td><td align='right'>{number(step.dx[k])}</td></tr>"
                   for k, name in enumerate(classes))
    head = "<tr><th></th><th>z</th><th>p = softmax(z)</th><th>y</th><th>dL/dz = p − y</th></tr>"
    rule = tr("why.loss_rule", loss=walk.loss, label=classes[detail["label"]])
    return f"<p>{html.escape(rule)}</p><table border='1' cellspacing='0' cellpadding='2'>{head}{rows}</table>"


def _dense(step) -> str:
    terms, index = step.detail["dx_terms"], step.detail["in"]
    order = np.argsort(-np.abs(terms[:, 2]))[:_MAX_TERMS]
    rows = "".join(f"<tr><td>o = {o}</td><td align='right'>{number(terms[o, 0])}</td><td>·</td>"
                   f"<td align='right'>{number(terms[o, 1])}</td><td>=</td><td align='right'>{number(terms[o, 2])}</td></tr>"
                   for o in order)
    rest = len(terms) - len(order)
    more = f"<tr><td colspan='6'>… + {rest}</td></tr>" if rest > 0 else ""
    return (f"<p>{html.escape(tr('why.dense_terms', index=index))}</p>"
            f"<table border='1' cellspacing='0' cellpadding='2'>{rows}{more}</table>")


def _elementwise(step) -> str:
    positions = step.detail.get("positions", ())
    if not positions:
        return ""
    if step.x.ndim == 1:                    # a vector: the first entries, x, its mask, dout and dx in rows
        shown = slice(0, min(_VECTOR_ENTRIES, step.x.size))
        rows = np.stack([step.x[shown], step.x[shown] > 0, step.dout[shown], step.dx[shown]])
        marked = {(r, p[0]) for p in positions for r in range(4) if p[0] < _VECTOR_ENTRIES}
        return table(rows, marked=marked, caption="x; [x > 0]; dout; dx")
    if step.x.ndim != 3:
        return ""
    c, r, q = positions[0]
    x_crop, centre = crop(step.x[c], (r, q))
    dout_crop, _ = crop(step.dout[c], (r, q))
    dx_crop, _ = crop(step.dx[c], (r, q))
    return side_by_side(table(x_crop, marked={centre}, caption="x"), table(dout_crop, marked={centre}, caption="dout"),
                        table(dx_crop, marked={centre}, caption="dx"))


def _pool(step) -> str:
    d = step.detail
    top, left = max(d["window"][0], 0), max(d["window"][1], 0)
    winner = d.get("winner")
    marked = {(winner[0] - top, winner[1] - left)} if winner else set()
    oh, ow = d["out"]
    text = tr("why.pool_window", row=oh, col=ow, channel=d["channel"], value=number(step.dout[d["channel"], oh, ow]),
              winner=str(winner) if winner else "/")
    return f"<p>{html.escape(text)}</p>" + side_by_side(table(d["values"], marked=marked, caption="x"),
                                                      table(d["dx_window"], marked=marked, caption="dx"))


def _conv(step) -> str:
    d = step.detail
    if "dx_terms" not in d:
        return ""
    f, c, (r, q), (i, j) = d["filter"], d["channel"], d["pixel"], d["weight"]
    terms = d["dx_terms"][f, ::-1, ::-1]            # flipped: the dout patch in reading order
    dx_text = tr("why.conv_dx", channel=c, row=r, col=q, filter=f, share=number(d["filter_share"]))
    dw_text = tr("why.conv_dw", filter=f, channel=c, i=i, j=j, rows=len(d["dout_map"]), cols=len(d["dout_map"][0]))
    # the 6×6 corner of the OH×OW terms where dout is largest: most of the sum is there
    corner = [max(0, min(v - 2, size - 6)) for v, size in zip(np.unravel_index(np.argmax(np.abs(d["dout_map"])),
                                                                                d["dout_map"].shape), d["dout_map"].shape)]
    window = (slice(corner[0], corner[0] + 6), slice(corner[1], corner[1] + 6))
    seen, dout_map = d["dw_inputs"][window], d["dout_map"][window]
    return (f"<p>{html.escape(dx_text)}</p>"
            + side_by_side(table(terms[..., 0], caption="dout"), table(terms[..., 1], caption="W (flipped)"))
            + table(terms[..., 2], caption="dout·W")
            + f"<p>{html.escape(dw_text)}</p>"
            + side_by_side(table(seen, caption="x"), table(dout_map, caption="dout"))
            + table(seen * dout_map, caption="x·dout"))


def step_html(walk, index: int, classes) -> str:
    """The whole text of step ``index`` of ``walk`` (cyconv.explain.Walk)."""
    step = walk.steps[index]
    title = tr("why.step_title", number=index + 1, count=len(walk.steps), layer=step.layer, kind=step.kind)
    if step.kind == LOSS_KIND:
        body = _loss(step, walk, classes)
    else:
        key = f"why.rule.{step.kind}"
        try:
            rule = tr(key, **({"passed": step.detail["passed"], "total": step.detail["total"]} if "passed" in step.detail else {}))
        except KeyError:
            rule = tr("why.rule.other", kind=step.kind, shape=tuple(step.dx.shape))
        extra = {"Dense": _dense, "Conv2D": _conv, "MaxPool2D": _pool, "MinPool2D": _pool, "AvgPool2D": _pool,
                 "ReLU": _elementwise, "LeakyReLU": _elementwise}.get(step.kind, lambda s: "")(step)
        body = f"<p>{html.escape(rule)}</p>{extra}"
    return f"<h3>{html.escape(title)}</h3>{body}{checks_html(step)}"
