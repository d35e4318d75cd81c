#!/usr/bin/python3
"""Writes tests/model/fixtures/model_<case>.safetensors: PyTorch reference values
for models built from JSON specs (test_model.c).

Run with Debian's python3-torch (float64 throughout):
    /usr/bin/python3 tests/model/gen_model_fixtures.py

Each case is the PyTorch version of one spec in test_model.c, written the
way a user would: the layers as children "0", "1", ... of a plain module, so
its state_dict keys ("0.weight", "1.weight_ih_l0", "1.bias_hh_l0_reverse",
...) are the names tapegrad gives the spec's parameters. Variable lengths go
through pack_padded_sequence, as in PyTorch practice. The file holds:

    the state_dict, under its own keys (loaded with tg_params_load, which
    ignores the other tensors: this is the "export with plain torch code")
    ref.ids / ref.x, ref.lengths, ref.targets / ref.target   the batch
    ref.output   the model's output (logits or predictions)
    ref.loss     the task's loss, mean over the counted targets
    ref.grad.<key>  d loss / d parameter, for every parameter

The safetensors file is written by hand (struct + json) so that the script
needs nothing beyond torch.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)
import torch.nn as nn
import torch.nn.functional as F
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

torch.set_default_dtype(torch.float64)
HERE = os.path.dirname(os.path.abspath(__file__))
gen = torch.Generator().manual_seed(2024)


def net(*layers):
    """A plain module whose children are named 0, 1, 2, ...: nn.Sequential's
    state_dict keys, without Sequential's forward (an LSTM returns a tuple)."""
    m = nn.Module()
    for i, layer in enumerate(layers):
        m.add_module(str(i), layer)
    for p in m.parameters():  # weights away from PyTorch's tiny defaults
        with torch.no_grad():
            p.copy_(torch.randn(p.shape, generator=gen) * 0.5)
    return m


def rnn_out(rnn, x, lengths):
    """x [T, B, I] through a recurrent layer as packed sequences; outputs
    past each length are zero. Returns output [T, B, D*H], h_n."""
    packed = pack_padded_sequence(x, lengths, enforce_sorted=False)
    out, state = rnn(packed)
    out, _ = pad_packed_sequence(out, total_length=x.shape[0])
    return out, state[0] if isinstance(state, tuple) else state


def masked_ce(logits, targets, lengths):
    """logits [T, B, C], targets [T, B]: mean over t < lengths[b]."""
    T = logits.shape[0]
    mask = torch.arange(T)[:, None] < lengths[None, :]
    return F.cross_entropy(logits[mask], targets[mask])


def finish(name, m, batch, output, loss):
    loss.backward()
    tensors = dict(m.state_dict())
    tensors.update({"ref." + k: v for k, v in batch.items()})
    tensors["ref.output"] = output
    tensors["ref.loss"] = loss.reshape(())
    for k, p in m.named_parameters():
        tensors["ref.grad." + k] = p.grad
    safetensors_out.write(os.path.join(HERE, "fixtures", "model_%s.safetensors" % name), tensors)
    print("model_%s: loss %.10f" % (name, loss.item()))


T, B = 5, 3
LENGTHS = torch.tensor([5, 3, 4])


def case_lm():
    # embedding 6 -> gru 5 x 2 layers -> linear vocab; vocab 7
    V = 7
    m = net(nn.Embedding(V, 6), nn.GRU(6, 5, num_layers=2), nn.Linear(5, V))
    ids = torch.randint(0, V, (T, B), generator=gen)
    targets = torch.randint(0, V, (T, B), generator=gen)
    out, _ = rnn_out(m._modules["1"], m._modules["0"](ids), LENGTHS)
    logits = m._modules["2"](out)
    finish("lm", m, {"ids": ids, "lengths": LENGTHS, "targets": targets}, logits,
           masked_ce(logits, targets, LENGTHS))


def case_classify():
    # embedding 4 (padding_idx 0) -> bidirectional lstm 3 -> pool last -> linear 3
    V, C = 7, 3
    m = net(nn.Embedding(V, 4, padding_idx=0), nn.LSTM(4, 3, bidirectional=True),
            nn.Linear(6, C))
    with torch.no_grad():
        m._modules["0"].weight[0].zero_()
    ids = torch.randint(1, V, (T, B), generator=gen)
    for b in range(B):
        ids[LENGTHS[b]:, b] = 0  # padding
    targets = torch.randint(0, C, (B,), generator=gen)
    _, h_n = rnn_out(m._modules["1"], m._modules["0"](ids), LENGTHS)
    feats = torch.cat([h_n[0], h_n[1]], dim=1)  # the usual classifier input
    logits = m._modules["2"](feats)
    finish("classify", m, {"ids": ids, "lengths": LENGTHS, "targets": targets}, logits,
           F.cross_entropy(logits, targets))


def case_tag():
    # batch-first vectors 3 -> bidirectional gru 4 -> tanh -> linear 5
    I, C = 3, 5
    m = net(nn.GRU(I, 4, bidirectional=True), nn.Tanh(), nn.Linear(8, C))
    x = torch.randn(B, T, I, generator=gen)
    targets = torch.randint(0, C, (B, T), generator=gen)
    out, _ = rnn_out(m._modules["0"], x.transpose(0, 1), LENGTHS)
    logits = m._modules["2"](torch.tanh(out))  # [T, B, C]
    loss = masked_ce(logits, targets.transpose(0, 1), LENGTHS)
    finish("tag", m, {"x": x, "lengths": LENGTHS, "targets": targets},
           logits.transpose(0, 1), loss)


def case_regress():
    # vectors 2 -> elman relu 4 -> linear 2, masked mean squared error
    I, O = 2, 2
    m = net(nn.RNN(I, 4, nonlinearity="relu"), nn.Linear(4, O))
    x = torch.randn(T, B, I, generator=gen)
    target = torch.randn(T, B, O, generator=gen)
    out, _ = rnn_out(m._modules["0"], x, LENGTHS)
    pred = m._modules["1"](out)
    mask = (torch.arange(T)[:, None] < LENGTHS[None, :])
    loss = F.mse_loss(pred[mask], target[mask])
    finish("regress", m, {"x": x, "lengths": LENGTHS, "target": target}, pred, loss)


def case_pool_mean():
    # vectors 2 -> lstm 3 -> pool mean -> linear 1, regression per sequence;
    # the pool has no parameters but takes index 1, as in nn.Sequential
    I = 2
    m = net(nn.LSTM(I, 3), nn.Identity(), nn.Linear(3, 1))
    x = torch.randn(T, B, I, generator=gen)
    target = torch.randn(B, 1, generator=gen)
    out, _ = rnn_out(m._modules["0"], x, LENGTHS)
    mean = out.sum(0) / LENGTHS[:, None]  # padding outputs are zero
    pred = m._modules["2"](mean)
    finish("pool_mean", m, {"x": x, "lengths": LENGTHS, "target": target}, pred,
           F.mse_loss(pred, target))


def case_pool_max():
    # vectors 2 -> bidirectional elman tanh 4 -> pool max -> linear 3, classify
    I, C = 2, 3
    m = net(nn.RNN(I, 4, bidirectional=True), nn.Identity(), nn.Linear(8, C))
    x = torch.randn(T, B, I, generator=gen)
    targets = torch.randint(0, C, (B,), generator=gen)
    out, _ = rnn_out(m._modules["0"], x, LENGTHS)
    mask = torch.arange(T)[:, None, None] < LENGTHS[None, :, None]
    pooled = out.masked_fill(~mask, float("-inf")).max(0).values
    logits = m._modules["2"](pooled)
    finish("pool_max", m, {"x": x, "lengths": LENGTHS, "targets": targets}, logits,
           F.cross_entropy(logits, targets))


if __name__ == "__main__":
    case_lm()
    case_classify()
    case_tag()
    case_regress()
    case_pool_mean()
    case_pool_max()
