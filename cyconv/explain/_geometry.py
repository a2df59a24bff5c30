"""A conv or pooling layer's resolved geometry, read from the shape engine (one home for it)."""
from __future__ import annotations

from ..shapes import layer_row


def window(layer, input_chw):
    """(kernel (KH, KW), stride (SH, SW), padding (top, bottom, left, right), output (OH, OW))
    of ``layer`` on one sample of shape ``input_chw``."""
    row = layer_row(layer.config(), tuple(int(n) for n in input_chw))
    if row.error is not None:
        raise ValueError(row.error)
    return tuple(row.kernel_hw), tuple(row.stride_hw), tuple(row.padding_tblr), tuple(row.output_chw[1:])
