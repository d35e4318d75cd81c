#!/usr/bin/python3
"""Writes the fixtures of tests/cli/test_run.c: PyTorch's numbers for
`tapegrad run` on four specs.

Run with Debian's python3-torch:
    /usr/bin/python3 tests/cli/gen_run_fixtures.py

For each case NAME, tests/cli/fixtures/ receives
    run_NAME.json                the spec
    run_NAME.w.safetensors       the weights (F32), under PyTorch's state_dict keys
    run_NAME.x.safetensors       the batch: input, and h0, c0, lengths, target
    run_NAME.expect.safetensors  what `tapegrad run --grad --train-steps 3` must
                                 write (F64): output, h_n, c_n; grad.<key> and
                                 grad.input of sum(output) + sum(h_n) + sum(c_n);
                                 the parameters after three optimizer steps of
                                 the spec's loss (clipping and schedule as the
                                 spec says, with PyTorch's own clip_grad_*_ and
                                 lr_scheduler classes); loss [3]

The model is written as a user would: the layers as children "0", "1", ... of
a plain module (so the keys are the spec's parameter names), variable lengths
through pack_padded_sequence. Weights and inputs are rounded to float32
first, so the float32 files hold exactly what PyTorch computed from (in
float64). Safetensors are written by hand (struct + json).
"""
import json
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.set_default_dtype(torch.float64)
HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures")
gen = torch.Generator().manual_seed(1857)
STEPS = 3


def f32(t):
    """t rounded to float32 values, kept in float64."""
    return t.float().double()


def randn(*shape):
    return f32(torch.randn(*shape, generator=gen))


def net(layers):
    """A plain module with the given children {"0": layer, ...}."""
    m = nn.Module()
    for name, layer in layers.items():
        m.add_module(name, layer)
    with torch.no_grad():
        for p in m.parameters():  # away from PyTorch's tiny defaults, float32 values
            p.copy_(f32(torch.randn(p.shape, generator=gen) * 0.5))
    return m


def packed(rnn, x, lengths, state, batch_first=False):
    """A recurrent layer over padded x as packed sequences: outputs past each
    length are zero, the final state is each sequence's own last step."""
    if lengths is None:
        return rnn(x, state)
    p = pack_padded_sequence(x, lengths, batch_first=batch_first, enforce_sorted=False)
    out, st = rnn(p, state)
    out, _ = pad_packed_sequence(out, batch_first=batch_first, total_length=x.shape[1 if batch_first else 0])
    return out, st


def run_case(name, spec, m, forward, loss_fn, batch, make_opt, clip=None):
    """forward(m, batch) -> (output, h_n, c_n or None); loss_fn(output, batch)."""
    with open(os.path.join(HERE, "run_%s.json" % name), "w") as f:
        json.dump(spec, f)
        f.write("\n")
    safetensors_out.write(os.path.join(HERE, "run_%s.w.safetensors" % name), m.state_dict(),
                          float_dtype=torch.float32)
    safetensors_out.write(os.path.join(HERE, "run_%s.x.safetensors" % name), batch,
                          float_dtype=torch.float32)
    expect = {}
    x = batch["input"]
    if x.is_floating_point():
        x = x.clone().requires_grad_(True)
    b = dict(batch, input=x)
    out, h_n, c_n = forward(m, b)
    expect["output"] = out
    y = out.sum()
    if h_n is not None:
        expect["h_n"] = h_n
        y = y + h_n.sum()
    if c_n is not None:
        expect["c_n"] = c_n
        y = y + c_n.sum()
    y.backward()
    for k, p in m.named_parameters():
        expect["grad." + k] = p.grad.clone()
    if x.is_floating_point():
        expect["grad.input"] = x.grad
    # training steps from the same weights
    m.zero_grad()
    opt, sched = make_opt(list(m.parameters()))
    losses = []
    for _ in range(STEPS):
        opt.zero_grad()
        out, _, _ = forward(m, batch)
        loss = loss_fn(out, batch)
        loss.backward()
        losses.append(loss.item())
        if clip:
            clip(list(m.parameters()))
        opt.step()
        if sched:
            sched.step()
    for k, v in m.state_dict().items():
        expect[k] = v
    expect["loss"] = torch.tensor(losses)
    safetensors_out.write(os.path.join(HERE, "run_%s.expect.safetensors" % name), expect,
                          float_dtype=torch.float64)
    print("run_%s: %d tensors, losses %s" % (name, len(expect), ["%.6f" % v for v in losses]))


def mask_tb(T, lengths):
    return torch.arange(T)[:, None] < lengths[None, :]  # [T, B]


def case_lstm_h0c0():
    # vectors 3 -> 2-layer lstm 4, the recurrent layer last; h0 and c0; Adam
    T, B, I, H = 5, 3, 3, 4
    spec = {"tapegrad": 1, "task": "regress", "input": {"type": "vectors", "size": I},
            "model": {"layers": [{"type": "lstm", "hidden": H, "num_layers": 2}]},
            "optimizer": {"type": "adam", "lr": 0.01}}
    m = net({"0": nn.LSTM(I, H, num_layers=2)})
    batch = {"input": randn(T, B, I), "h0": randn(2, B, H), "c0": randn(2, B, H),
             "target": randn(T, B, H)}

    def forward(m, b):
        out, (h, c) = m._modules["0"](b["input"], (b["h0"], b["c0"]))
        return out, h, c

    run_case("lstm_h0c0", spec, m, forward, lambda out, b: F.mse_loss(out, b["target"]), batch,
             lambda p: (torch.optim.Adam(p, lr=0.01), None))


def case_gru_bidir_lengths():
    # batch-first vectors 2 -> bidirectional gru 3 with lengths; SGD with
    # Nesterov momentum, gradient norm clipping and a step schedule
    T, B, I, H = 5, 3, 2, 3
    lengths = torch.tensor([5, 2, 4])
    spec = {"tapegrad": 1, "task": "regress", "input": {"type": "vectors", "size": I, "batch_first": True},
            "model": {"layers": [{"type": "gru", "hidden": H, "bidirectional": True}]},
            "optimizer": {"type": "sgd", "lr": 0.1, "momentum": 0.9, "nesterov": True,
                          "clip_norm": 0.5, "schedule": {"type": "step", "step_size": 2, "gamma": 0.5}}}
    m = net({"0": nn.GRU(I, H, bidirectional=True, batch_first=True)})
    batch = {"input": randn(B, T, I), "lengths": lengths, "target": randn(B, T, 2 * H)}

    def forward(m, b):
        out, h = packed(m._modules["0"], b["input"], b["lengths"], None, batch_first=True)
        return out, h, None

    def loss(out, b):
        mask = mask_tb(T, b["lengths"]).t()  # [B, T]
        return F.mse_loss(out[mask], b["target"][mask])

    def make_opt(p):
        o = torch.optim.SGD(p, lr=0.1, momentum=0.9, nesterov=True)
        return o, torch.optim.lr_scheduler.StepLR(o, step_size=2, gamma=0.5)

    run_case("gru_bidir_lengths", spec, m, forward, loss, batch, make_opt,
             clip=lambda p: torch.nn.utils.clip_grad_norm_(p, 0.5))


def case_lm_rnn():
    # token ids -> embedding 5 -> elman tanh 6 -> linear vocab 7; Adam with
    # value clipping and a cosine schedule after a warm-up
    T, B, V = 6, 2, 7
    spec = {"tapegrad": 1, "task": "language_model", "input": {"type": "tokens", "vocab": V},
            "model": {"layers": [{"type": "embedding", "dim": 5}, {"type": "rnn", "hidden": 6},
                                 {"type": "linear", "out": "vocab"}]},
            "optimizer": {"type": "adam", "lr": 0.02, "clip_value": 0.05,
                          "schedule": {"type": "cosine", "t_max": 4, "eta_min": 0.001, "warmup": 2}}}
    m = net({"0": nn.Embedding(V, 5), "1": nn.RNN(5, 6), "2": nn.Linear(6, V)})
    batch = {"input": torch.randint(0, V, (T, B), generator=gen),
             "target": torch.randint(0, V, (T, B), generator=gen)}

    def forward(m, b):
        out, h = m._modules["1"](m._modules["0"](b["input"]))
        return m._modules["2"](out), h, None

    def loss(out, b):
        return F.cross_entropy(out.reshape(-1, V), b["target"].reshape(-1))

    def make_opt(p):
        o = torch.optim.Adam(p, lr=0.02)
        warm = torch.optim.lr_scheduler.LinearLR(o, start_factor=1 / 3, total_iters=2)
        cos = torch.optim.lr_scheduler.CosineAnnealingLR(o, T_max=4, eta_min=0.001)
        return o, torch.optim.lr_scheduler.SequentialLR(o, [warm, cos], milestones=[2])

    run_case("lm_rnn", spec, m, forward, loss, batch, make_opt,
             clip=lambda p: torch.nn.utils.clip_grad_value_(p, 0.05))


def case_classify_lstm():
    # token ids with padding and lengths -> embedding 4 (padding_idx 0) ->
    # lstm 5 with h0 -> pool last -> linear 3; AdamW
    T, B, V, H, C = 5, 3, 9, 5, 3
    lengths = torch.tensor([3, 5, 1])
    spec = {"tapegrad": 1, "task": "classify", "input": {"type": "tokens", "vocab": V},
            "model": {"layers": [{"type": "embedding", "dim": 4, "padding_idx": 0},
                                 {"type": "lstm", "hidden": H}, {"type": "pool", "mode": "last"},
                                 {"type": "linear", "out": C}]},
            "optimizer": {"type": "adamw", "lr": 0.01, "weight_decay": 0.1}}
    m = net({"0": nn.Embedding(V, 4, padding_idx=0), "1": nn.LSTM(4, H), "3": nn.Linear(H, C)})
    with torch.no_grad():
        m._modules["0"].weight[0].zero_()
    ids = torch.randint(1, V, (T, B), generator=gen)
    ids[~mask_tb(T, lengths)] = 0
    batch = {"input": ids, "lengths": lengths, "h0": randn(1, B, H),
             "target": torch.randint(0, C, (B,), generator=gen)}

    def forward(m, b):
        c0 = torch.zeros(1, B, H)
        out, (h, c) = packed(m._modules["1"], m._modules["0"](b["input"]), b["lengths"], (b["h0"], c0))
        return m._modules["3"](h[0]), h, c

    run_case("classify_lstm", spec, m, forward, lambda out, b: F.cross_entropy(out, b["target"]),
             batch, lambda p: (torch.optim.AdamW(p, lr=0.01, weight_decay=0.1), None))


if __name__ == "__main__":
    os.makedirs(HERE, exist_ok=True)
    case_lstm_h0c0()
    case_gru_bidir_lengths()
    case_lm_rnn()
    case_classify_lstm()
