"""Writes safetensors files for the fixture scripts (tests/*/gen_*.py).

By hand rather than through the safetensors package, which Debian does not
ship: a little-endian u64 header length, the JSON header (metadata first,
padded with spaces to 8 bytes), then the raw data; written to a temporary
name and renamed. tests/core/gen_safetensors_fixture.py keeps a writer of
its own on purpose: it is the independent check of tapegrad's reader.
"""
import json
import os
import struct

import torch

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.int64: "I64"}


def write(path, tensors, meta=None, float_dtype=None):
    """tensors: a dict or a list of (name, tensor) pairs; floating tensors
    are converted to float_dtype when it is given."""
    items = tensors.items() if hasattr(tensors, "items") else tensors
    header, blobs, offset = ({"__metadata__": meta} if meta else {}), [], 0
    for name, t in items:
        t = t.detach().contiguous()
        if float_dtype is not None and t.is_floating_point():
            t = t.to(float_dtype)
        if t.dtype not in DTYPES:
            raise ValueError(f"{name}: unexpected dtype {t.dtype}")
        data = t.numpy().tobytes()
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    head = json.dumps(header, separators=(",", ":")).encode()
    head += b" " * (-len(head) % 8)
    tmp = path + ".tmp"
    with open(tmp, "wb") as f:
        f.write(struct.pack("<Q", len(head)))
        f.write(head)
        for b in blobs:
            f.write(b)
    os.replace(tmp, path)
