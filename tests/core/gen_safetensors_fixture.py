#!/usr/bin/python3
"""Writes tests/core/fixtures/torch_tensors.safetensors from PyTorch, for
tests/nn/test_safetensors.c, and prints the values that test checks.

Run with Debian's python3-torch:  /usr/bin/python3 tests/core/gen_safetensors_fixture.py

Uses the `safetensors` package when it is installed; otherwise writes the
format by hand (u64 little-endian header length, JSON header padded with
spaces to 8 bytes, then each tensor's little-endian bytes), which is all the
format is. Either way the bytes are checked against torch afterwards."""
import json
import os
import struct

import torch

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures",
                   "torch_tensors.safetensors")

DTYPES = {torch.float64: "F64", torch.float32: "F32", torch.float16: "F16",
          torch.bfloat16: "BF16", torch.int64: "I64", torch.int32: "I32",
          torch.uint8: "U8", torch.bool: "BOOL"}


def tensors():
    torch.manual_seed(0)
    lstm = torch.nn.LSTM(input_size=3, hidden_size=2, num_layers=1)
    out = {k: v.detach().clone() for k, v in lstm.state_dict().items()}
    out["hidden_f64"] = torch.randn(2, 3, dtype=torch.float64)
    out["lengths"] = torch.tensor([5, 3, 2, -1, 4000000000], dtype=torch.int64)
    out["targets_i32"] = torch.tensor([[1, -2], [3, 2147483647]], dtype=torch.int32)
    out["mask"] = torch.tensor([True, False, True])
    out["bytes_u8"] = torch.tensor([0, 7, 255], dtype=torch.uint8)
    out["half"] = torch.tensor([1.5, -0.333251953125, 65504.0, 5.9604644775390625e-08],
                               dtype=torch.float16)
    out["brain"] = torch.tensor([3.140625, -1e-3], dtype=torch.bfloat16)
    out["scalar"] = torch.tensor(2.5, dtype=torch.float32)
    out["empty"] = torch.zeros(0, 3, dtype=torch.float32)
    # a non-contiguous source tensor: the file holds it row-major
    out["transposed"] = torch.arange(6, dtype=torch.float32).reshape(2, 3).t()
    return out


def raw_bytes(t):
    t = t.contiguous()
    if t.dtype == torch.bfloat16:  # numpy has no bfloat16: same bits as int16
        t = t.view(torch.int16)
    return t.numpy().astype(t.numpy().dtype.newbyteorder("<")).tobytes()


def write_by_hand(path, ts, meta):
    header = {"__metadata__": meta}
    offset, blobs = 0, []
    for name, t in ts.items():
        b = raw_bytes(t)
        header[name] = {"dtype": DTYPES[t.dtype], "shape": list(t.shape),
                        "data_offsets": [offset, offset + len(b)]}
        offset += len(b)
        blobs.append(b)
    h = json.dumps(header, separators=(",", ":")).encode()
    h += b" " * ((8 - (8 + len(h)) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(h)) + h + b"".join(blobs))


def main():
    ts = tensors()
    meta = {"format": "pt", "source": "gen_safetensors_fixture.py"}
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    try:
        from safetensors.torch import save_file
        save_file({k: v.contiguous() for k, v in ts.items()}, OUT, metadata=meta)
        how = "safetensors.torch.save_file"
    except ImportError:
        write_by_hand(OUT, ts, meta)
        how = "by hand (no safetensors package)"

    # read back by hand and compare, so the fixture is known to be right
    with open(OUT, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    for name, t in ts.items():
        b, e = header[name]["data_offsets"]
        assert data[8 + n + b:8 + n + e] == raw_bytes(t), name
    print(f"wrote {OUT} ({len(data)} bytes, {how})")

    torch.set_printoptions(precision=10)
    print("order:", [k for k in header if k != "__metadata__"])
    for name, t in ts.items():
        print(f"{name} {DTYPES[t.dtype]} {list(t.shape)}")
    w = ts["weight_ih_l0"]
    print("weight_ih_l0[0,0] = %.9g  [7,2] = %.9g" % (w[0, 0].item(), w[7, 2].item()))
    print("weight_hh_l0[3,1] = %.9g" % ts["weight_hh_l0"][3, 1].item())
    print("bias_ih_l0 =", ["%.9g" % v for v in ts["bias_ih_l0"].tolist()])
    print("bias_hh_l0[7] = %.9g" % ts["bias_hh_l0"][7].item())
    print("hidden_f64 =", ["%.17g" % v for v in ts["hidden_f64"].flatten().tolist()])
    print("lengths =", ts["lengths"].tolist())
    print("targets_i32 =", ts["targets_i32"].flatten().tolist())
    print("half =", ["%.17g" % v for v in ts["half"].float().tolist()])
    print("brain =", ["%.17g" % v for v in ts["brain"].float().tolist()])
    print("transposed =", ts["transposed"].flatten().tolist())


if __name__ == "__main__":
    main()
