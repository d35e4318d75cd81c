#!/usr/bin/python3
"""Writes tests/nn/fixtures/lstm_proj.safetensors: PyTorch's own numbers for
nn.LSTM(proj_size=P), read by tests/nn/test_rnn_proj.c.

Run with Debian's python3-torch:
    /usr/bin/python3 tests/nn/gen_lstm_proj_fixtures.py

Everything is computed in float64 (so the double build compares at 1e-12)
and written as F64. For each configuration <cfg> the file holds, under
"<cfg>/<name>":
  - every parameter under its state_dict name (weight_ih_l0, weight_hh_l0,
    bias_ih_l0, bias_hh_l0, weight_hr_l0, ...), in state_dict order;
  - "input" [T,B,I] (or [B,T,I] when batch_first), "h0" [L*D,B,P] and "c0"
    [L*D,B,H] when the configuration passes them;
  - "lengths" (I64 [B]) for variable-length batches, run as PyTorch users do
    (pack_padded_sequence(enforce_sorted=False), pad_packed_sequence with
    total_length=T);
  - "output", "h_n", "c_n", fixed random weights "w_output", "w_h_n",
    "w_c_n" of their shapes, and the gradients of
    L = sum(output*w_output) + sum(h_n*w_h_n) + sum(c_n*w_c_n) with respect
    to every parameter ("grad.<name>"), the input and the initial states.
__metadata__ carries, per configuration, "<cfg>" = "I H P layers
bidirectional(0/1) batch_first(0/1)" so the C test builds the module from
the file alone.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H = 5, 3, 4, 6
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "lstm_proj.safetensors")

# name, P, options: layers, bidir, batch_first, h0, c0, lengths
CONFIGS = [
    ("one", 3, dict(h0=True, c0=True)),
    ("two_layers", 2, dict(layers=2)),
    ("bidir", 4, dict(bidir=True, h0=True)),
    ("two_bidir_lengths", 3, dict(layers=2, bidir=True, lengths=[3, 5, 1], h0=True, c0=True)),
    ("batch_first_lengths", 1, dict(batch_first=True, lengths=[2, 4, 5], c0=True)),
]


def run(index, name, P, o, tensors, meta):
    torch.manual_seed(2000 + index)
    L, D = o.get("layers", 1), 2 if o.get("bidir") else 1
    bf = o.get("batch_first", False)
    m = torch.nn.LSTM(I, H, num_layers=L, bidirectional=D == 2, batch_first=bf,
                      proj_size=P).double()
    x = torch.randn((B, T, I) if bf else (T, B, I), dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(L * D, B, P, dtype=torch.float64, requires_grad=True) \
        if o.get("h0") else None
    c0 = torch.randn(L * D, B, H, dtype=torch.float64, requires_grad=True) \
        if o.get("c0") else None
    lengths = torch.tensor(o["lengths"], dtype=torch.int64) if "lengths" in o else None
    hx = None
    if h0 is not None or c0 is not None:
        hx = (h0 if h0 is not None else torch.zeros(L * D, B, P, dtype=torch.float64),
              c0 if c0 is not None else torch.zeros(L * D, B, H, dtype=torch.float64))
    inp = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False) \
        if lengths is not None else x
    out, (h_n, c_n) = m(inp, hx)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
    w_out = torch.randn(out.shape, dtype=torch.float64)
    w_h = torch.randn(h_n.shape, dtype=torch.float64)
    w_c = torch.randn(c_n.shape, dtype=torch.float64)
    ((out * w_out).sum() + (h_n * w_h).sum() + (c_n * w_c).sum()).backward()

    add = lambda k, v: tensors.append((f"{name}/{k}", v))
    for k, v in m.state_dict().items():
        add(k, v)
    add("input", x)
    if h0 is not None:
        add("h0", h0)
    if c0 is not None:
        add("c0", c0)
    if lengths is not None:
        add("lengths", lengths)
    for k, v in [("output", out), ("h_n", h_n), ("c_n", c_n), ("w_output", w_out),
                 ("w_h_n", w_h), ("w_c_n", w_c)]:
        add(k, v)
    for k, p in m.named_parameters():
        add("grad." + k, p.grad)
    add("grad.input", x.grad)
    if h0 is not None:
        add("grad.h0", h0.grad)
    if c0 is not None:
        add("grad.c0", c0.grad)
    meta[name] = f"{I} {H} {P} {L} {int(D == 2)} {int(bf)}"


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tensors, meta = [], {"configs": " ".join(c[0] for c in CONFIGS)}
    for index, (name, P, o) in enumerate(CONFIGS):
        run(index, name, P, o, tensors, meta)
    safetensors_out.write(OUT, tensors, meta)
    print(f"{OUT}: {len(tensors)} tensors, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
