"""Named extra arrays a checkpoint may carry besides the model (e.g. a lab's recorded history
of filters), stored as ``attach/<name>`` members and listed by name in the metadata.

They are held to their own budget on load, from the .npy headers, before any is inflated: a
caller's extras must never be what makes a stranger's file cost the machine's memory.
"""
import re

import numpy as np

from ._layout import CheckpointError

__all__ = ["ATTACH_PREFIX", "MAX_ATTACHMENT_BYTES", "check_names", "entries", "needed_members", "check_fit",
           "collect"]

ATTACH_PREFIX = "attach/"
#: All attachments of one file together, as their headers declare them.
MAX_ATTACHMENT_BYTES = 1 << 30
MAX_NAME_LENGTH = 200
# Slash-separated words: a name is also a zip member name, so nothing that could climb out.
_NAME = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*")
_KINDS = "biuf"                # bool, int, unsigned, float: plain numbers, never objects


def _check_name(name):
    if not isinstance(name, str):
        raise TypeError(f"io.save: an attachment's name must be a str, got {type(name).__name__}")
    if len(name) > MAX_NAME_LENGTH or not _NAME.fullmatch(name) or ".." in name.split("/"):
        raise ValueError(f"io.save: attachment name {name!r} must be 1 to {MAX_NAME_LENGTH} letters, digits, "
                         f"'_', '-', '.' in '/'-separated parts (e.g. 'history/filters/conv1')")


def entries(attachments):
    """{member name: array} for ``attachments`` ({name: array} or None), each checked."""
    if attachments is None:
        return {}
    if not isinstance(attachments, dict):
        raise TypeError(f"io.save: attachments must be a dict of name -> array, got "
                        f"{type(attachments).__name__}")
    members = {}
    for name, value in attachments.items():
        _check_name(name)
        array = np.asarray(value)
        if array.dtype.kind not in _KINDS:
            raise TypeError(f"io.save: attachment {name!r} is a {array.dtype} array; attachments hold "
                            f"numbers (bool, int or float arrays)")
        members[f"{ATTACH_PREFIX}{name}"] = array
    return members


def check_names(path, saved):
    """The metadata's list of attachment names (None: the file has none)."""
    if saved is None:
        return []
    if not isinstance(saved, list) or not all(isinstance(name, str) and _NAME.fullmatch(name) for name in saved):
        raise CheckpointError(f"{path}: the checkpoint's 'attachments' entry is not a list of names; "
                              f"the file is damaged")
    return saved


def needed_members(names):
    return [f"{ATTACH_PREFIX}{name}" for name in names]


def check_fit(path, names, headers):
    """Every listed attachment is stored as plain numbers, all of them within the budget."""
    total = 0
    for name in names:
        shape, dtype = headers[f"{ATTACH_PREFIX}{name}"]
        if dtype.kind not in _KINDS:
            raise CheckpointError(f"{path}: the attachment '{name}' is a {dtype} array, not numbers")
        total += int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if total > MAX_ATTACHMENT_BYTES:
        raise CheckpointError(f"{path}: its attachments declare {total} bytes, more than the "
                              f"{MAX_ATTACHMENT_BYTES} a checkpoint's attachments may hold")


def collect(names, arrays):
    """{name: array (read-only)} from the members read."""
    found = {}
    for name in names:
        array = arrays[f"{ATTACH_PREFIX}{name}"]
        array.flags.writeable = False
        found[name] = array
    return found
