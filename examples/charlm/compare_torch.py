#!/usr/bin/python3
"""The demo's configuration in PyTorch, for the same number of steps.

    /usr/bin/python3 examples/charlm/compare_torch.py [SPEC] [DATA] [--steps N] [--threads N]

Reads examples/charlm/spec.json and trains the same model the same way as
`tapegrad train` does (docs/cli.md): the vocabulary is the file's distinct
bytes; the last valid_fraction is held out; batches are B contiguous streams
read seq_len bytes at a time with the LSTM state carried across chunks and
detached (a new pass over the text starts from zeros); Adam with the spec's
learning rate, warm-up and cosine schedule (closed forms, as
torch.optim.lr_scheduler's) and gradient norm clipping; validation over the
held-out text in the same streams. Weights start from PyTorch's own
initialisation (the same distributions as tapegrad's, other draws), so the
figures agree in size, not digit for digit. Prints the validation bits per
character at each validation and the wall time.
"""
import argparse
import json
import math
import os
import time

import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))


def split(n, valid_fraction):
    """tapegrad's cli_split: how many of n bytes train."""
    if valid_fraction >= 1:
        return 0
    held = int(n * valid_fraction + 0.5)
    if valid_fraction > 0 and held < 1 and n > 1:
        held = 1
    return n - held


def layout(n, batch, seq_len):
    """B streams of L bytes read K at a time, nc chunks (data_text.c)."""
    usable = n - 1
    B = min(batch, usable)
    L = usable // B
    K = min(seq_len, L)
    return B, K, L, L // K


def chunk(ids, B, K, L, i):
    """Inputs and targets [K, B] of chunk i of streams starting at ids[0]."""
    rows = torch.arange(B)[None, :] * L + i * K + torch.arange(K)[:, None]
    return ids[rows], ids[rows + 1]


class CharLSTM(nn.Module):
    def __init__(self, vocab, dim, hidden, layers):
        super().__init__()
        self.add_module("0", nn.Embedding(vocab, dim))
        self.add_module("1", nn.LSTM(dim, hidden, num_layers=layers))
        self.add_module("2", nn.Linear(hidden, vocab))

    def forward(self, x, state):
        out, state = self._modules["1"](self._modules["0"](x), state)
        return self._modules["2"](out), state


def lr_at(o, base, step):
    """The spec's schedule: linear warm-up, then cosine (docs/spec.md)."""
    s = o.get("schedule", {"type": "constant"})
    warm = s.get("warmup", 0)
    f = s.get("warmup_start_factor", 1 / 3)
    if step < warm:
        return base * (f + (1 - f) * step / warm)
    e = step - warm
    if s["type"] == "constant":
        return base
    assert s["type"] == "cosine", "compare_torch.py knows constant and cosine schedules"
    t_max, eta_min = s.get("t_max", TRAIN_STEPS), s.get("eta_min", 0)
    return eta_min + (base - eta_min) * (1 + math.cos(math.pi * e / t_max)) / 2


def evaluate(model, ids, batch, seq_len):
    B, K, L, nc = layout(len(ids), batch, seq_len)
    total, count, state = 0.0, 0, None
    model.eval()
    with torch.no_grad():
        for i in range(nc):
            x, y = chunk(ids, B, K, L, i)
            logits, state = model(x, state)
            total += F.cross_entropy(logits.reshape(-1, logits.shape[-1]), y.reshape(-1),
                                     reduction="sum").item()
            count += y.numel()
    model.train()
    return total / count


def main():
    global TRAIN_STEPS
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec", nargs="?", default=os.path.join(HERE, "spec.json"))
    ap.add_argument("data", nargs="?", default=os.path.join(HERE, "..", "data", "moby-dick.txt"))
    ap.add_argument("--steps", type=int)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    spec = json.load(open(args.spec))
    layers, tr, o = spec["model"]["layers"], spec["train"], spec["optimizer"]
    assert [l["type"] for l in layers] == ["embedding", "lstm", "linear"], "embedding, lstm, linear"
    assert o.get("type", "adam") == "adam"
    TRAIN_STEPS = tr["steps"]
    steps = args.steps or TRAIN_STEPS

    text = open(args.data, "rb").read()
    vocab = sorted(set(text))
    index = {c: i for i, c in enumerate(vocab)}
    ids = torch.tensor([index[c] for c in text])
    n_train = split(len(ids), tr.get("valid_fraction", 0.1))
    train_ids, valid_ids = ids[:n_train], ids[n_train:]
    batch, seq_len = tr.get("batch", 32), tr.get("seq_len", 64)
    B, K, L, nc = layout(n_train, batch, seq_len)

    torch.manual_seed(tr.get("seed", 1))
    model = CharLSTM(len(vocab), layers[0]["dim"], layers[1]["hidden"], layers[1].get("num_layers", 1))
    base = o.get("lr", 1e-3)
    opt = torch.optim.Adam(model.parameters(), lr=base, foreach=False)
    clip = o.get("clip_norm")
    eval_every = tr.get("eval_every", 100)
    unigram = torch.bincount(train_ids, minlength=len(vocab)).double() / n_train
    unigram = -(unigram[unigram > 0] * unigram[unigram > 0].log2()).sum().item()
    print("pytorch %s, %d threads: %d parameters; %d training bytes, %d held out, vocabulary %d; "
          "unigram baseline %.4f bits per character"
          % (torch.__version__, args.threads, sum(p.numel() for p in model.parameters()),
             n_train, len(valid_ids), len(vocab), unigram), flush=True)
    t0 = time.time()
    state, val = None, float("nan")
    for step in range(steps):
        i = step % nc
        if i == 0:
            state = None
        x, y = chunk(train_ids, B, K, L, i)
        for g in opt.param_groups:
            g["lr"] = lr_at(o, base, step)
        logits, state = model(x, state)
        state = tuple(s.detach() for s in state)
        loss = F.cross_entropy(logits.reshape(-1, len(vocab)), y.reshape(-1))
        opt.zero_grad()
        loss.backward()
        if clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
        opt.step()
        done = step + 1
        if (eval_every and done % eval_every == 0) or done == steps:
            val = evaluate(model, valid_ids, batch, seq_len)
            print("step %d: train loss %.4f, validation loss %.4f, %.4f bits per character (%.0f s)"
                  % (done, loss.item(), val, val / math.log(2), time.time() - t0), flush=True)
    print("pytorch: %d steps in %.0f s; final validation %.4f bits per character"
          % (steps, time.time() - t0, val / math.log(2)))


if __name__ == "__main__":
    main()
