#!/usr/bin/python3
"""Writes tests/nn/fixtures/rnn_<config>.safetensors: PyTorch's own numbers
for the recurrent layers (nn.RNN, nn.LSTM, nn.GRU), read by
tests/nn/test_rnn_parity.c.

Run with Debian's python3-torch (everything in float32, as a user would):
    /usr/bin/python3 tests/nn/gen_rnn_fixtures.py

Each file holds, as F32 unless noted:
  - every parameter under its state_dict name (weight_ih_l0, ...);
  - "input" [T,B,I] (or [B,T,I] when batch_first), and "h0" / "c0"
    [layers*dirs,B,H] when the config passes an initial state;
  - "lengths" (I64 [B]) for variable-length batches, run as PyTorch users do:
    pack_padded_sequence(enforce_sorted=False) and
    pad_packed_sequence(total_length=T), so the output is 0 at padded steps
    and h_n/c_n are each sequence's state at its own last step;
  - "output", "h_n" and (LSTM) "c_n";
  - fixed random weights "w_output", "w_h_n", "w_c_n" of the same shapes, and
    the gradients of L = sum(output*w_output) + sum(h_n*w_h_n)
    (+ sum(c_n*w_c_n)) with respect to every parameter ("grad.<name>"), the
    input ("grad.input") and the initial states ("grad.h0", "grad.c0").
__metadata__ carries the configuration as strings: mode (RNN_TANH,
RNN_RELU, LSTM, GRU), input_size, hidden_size, num_layers, bidirectional,
batch_first, bias ("true"/"false"), so the C test builds the module from
the file alone.

The safetensors format is written by hand (the python package is not a
Debian dependency): u64 little-endian header length, JSON header, raw
little-endian data.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

T, B, I, H = 5, 3, 4, 6
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures")

# name, mode, options; options: layers, bidir, batch_first, h0, c0,
# lengths, bias (default True)
CONFIGS = [
    ("tanh", "RNN_TANH", dict()),
    ("relu", "RNN_RELU", dict()),
    ("lstm_h0c0", "LSTM", dict(h0=True, c0=True)),
    ("gru_h0", "GRU", dict(h0=True)),
    ("lstm_2layer", "LSTM", dict(layers=2)),
    ("gru_2layer_bidir", "GRU", dict(layers=2, bidir=True)),
    ("lstm_bidir_batch_first", "LSTM", dict(bidir=True, batch_first=True)),
    ("tanh_2layer_bidir", "RNN_TANH", dict(layers=2, bidir=True, h0=True)),
    ("lstm_bidir_lengths", "LSTM", dict(bidir=True, lengths=[3, 5, 1], h0=True, c0=True)),
    ("gru_2layer_lengths_batch_first", "GRU",
     dict(layers=2, batch_first=True, lengths=[2, 4, 5])),
    ("gru_nobias", "GRU", dict(bias=False)),
    ("relu_2layer_bidir_lengths_h0", "RNN_RELU",
     dict(layers=2, bidir=True, lengths=[4, 1, 5], h0=True)),
]


def make_module(mode, o):
    kw = dict(input_size=I, hidden_size=H, num_layers=o.get("layers", 1),
              bidirectional=o.get("bidir", False), batch_first=o.get("batch_first", False),
              bias=o.get("bias", True))
    if mode == "LSTM":
        return torch.nn.LSTM(**kw)
    if mode == "GRU":
        return torch.nn.GRU(**kw)
    return torch.nn.RNN(nonlinearity="tanh" if mode == "RNN_TANH" else "relu", **kw)


def run(index, name, mode, o):
    torch.manual_seed(1000 + index)
    m = make_module(mode, o)
    L, D = o.get("layers", 1), 2 if o.get("bidir") else 1
    bf = o.get("batch_first", False)
    x = torch.randn((B, T, I) if bf else (T, B, I), requires_grad=True)
    h0 = torch.randn(L * D, B, H, requires_grad=True) if o.get("h0") else None
    c0 = torch.randn(L * D, B, H, requires_grad=True) if o.get("c0") else None
    lengths = torch.tensor(o["lengths"], dtype=torch.int64) if "lengths" in o else None

    if mode == "LSTM":
        hx = None
        if h0 is not None or c0 is not None:
            zeros = torch.zeros(L * D, B, H)
            hx = (h0 if h0 is not None else zeros, c0 if c0 is not None else zeros)
    else:
        hx = h0
    inp = pack_padded_sequence(x, lengths, batch_first=bf, enforce_sorted=False) \
        if lengths is not None else x
    out, state = m(inp, hx)
    if lengths is not None:
        out, _ = pad_packed_sequence(out, batch_first=bf, total_length=T)
    h_n, c_n = state if mode == "LSTM" else (state, None)

    w_out, w_h = torch.randn(out.shape), torch.randn(h_n.shape)
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    w_c = None
    if c_n is not None:
        w_c = torch.randn(c_n.shape)
        loss = loss + (c_n * w_c).sum()
    loss.backward()

    tensors = [(k, v) for k, v in m.state_dict().items()]
    tensors.append(("input", x))
    if h0 is not None:
        tensors.append(("h0", h0))
    if c0 is not None:
        tensors.append(("c0", c0))
    if lengths is not None:
        tensors.append(("lengths", lengths))
    tensors += [("output", out), ("h_n", h_n), ("w_output", w_out), ("w_h_n", w_h)]
    if c_n is not None:
        tensors += [("c_n", c_n), ("w_c_n", w_c)]
    tensors += [("grad." + k, p.grad) for k, p in m.named_parameters()]
    tensors.append(("grad.input", x.grad))
    if h0 is not None:
        tensors.append(("grad.h0", h0.grad))
    if c0 is not None:
        tensors.append(("grad.c0", c0.grad))

    yes = lambda b: "true" if b else "false"
    meta = dict(mode=mode, input_size=str(I), hidden_size=str(H), num_layers=str(L),
                bidirectional=yes(D == 2), batch_first=yes(bf), bias=yes(o.get("bias", True)))
    path = os.path.join(OUT, f"rnn_{name}.safetensors")
    safetensors_out.write(path, tensors, meta)
    print(f"{path}: {len(tensors)} tensors, {os.path.getsize(path)} bytes")


def main():
    os.makedirs(OUT, exist_ok=True)
    for index, (name, mode, o) in enumerate(CONFIGS):
        run(index, name, mode, o)


if __name__ == "__main__":
    main()
