#!/usr/bin/python3
"""Writes tests/nn/fixtures/attention.safetensors: PyTorch reference values
for one attention step (test_attention.c).

Run with Debian's python3-torch:
    /usr/bin/python3 tests/nn/gen_attention_fixture.py

The modules below are the usual PyTorch way to write the three scores of
nn/attention.h, with the same parameter names:

    additive  e = v(tanh(query(s)[:, None] + key(h)))   Bahdanau
    general   e = (key(h) @ s[:, :, None])              Luong, s^T W h
    dot       e = (h @ s[:, :, None])                   Luong, s^T h

then a softmax over the steps with the padded ones (t' >= lengths[b]) set to
-inf, and the context bmm(alpha[:, None], h). The gradients are those of
L = sum(context * RC) + sum(weights * RW) for fixed random RC, RW.

The file holds the inputs ("values" [B, S, K], "query" [B, Q], "query_dot"
[B, K] for the dot scores, "lengths" I64, "rc", "rw"), and per kind "<kind>.<param>", "<kind>.context",
"<kind>.weights", "<kind>.grad.<param>", "<kind>.grad.values",
"<kind>.grad.query". Float32, like the library's default build; the
safetensors file is written by hand (struct + json).
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)
import torch.nn as nn

B, S, Q, K, A = 3, 4, 5, 6, 4
torch.manual_seed(2014)  # Bahdanau, Cho and Bengio

values = torch.randn(B, S, K)
query = torch.randn(B, Q)
query_dot = torch.randn(B, K)  # dot scores need a query of the key's size
lengths = torch.tensor([4, 2, 3], dtype=torch.int64)
rc = torch.randn(B, K)
rw = torch.randn(B, S)


class Additive(nn.Module):
    def __init__(self):
        super().__init__()
        self.query = nn.Linear(Q, A, bias=False)
        self.key = nn.Linear(K, A)
        self.v = nn.Linear(A, 1, bias=False)

    def scores(self, h, s):
        return self.v(torch.tanh(self.query(s)[:, None, :] + self.key(h))).squeeze(2)


class General(nn.Module):
    def __init__(self):
        super().__init__()
        self.key = nn.Linear(K, Q, bias=False)

    def scores(self, h, s):
        return torch.bmm(self.key(h), s[:, :, None]).squeeze(2)


class Dot(nn.Module):
    def scores(self, h, s):
        return torch.bmm(h, s[:, :, None]).squeeze(2)


def step(module, h, s):
    e = module.scores(h, s)
    pad = torch.arange(S)[None, :] >= lengths[:, None]
    alpha = torch.softmax(e.masked_fill(pad, float("-inf")), dim=1)
    context = torch.bmm(alpha[:, None, :], h).squeeze(1)
    return context, alpha


out = {
    "values": values,
    "query": query,
    "query_dot": query_dot,
    "lengths": lengths,
    "rc": rc,
    "rw": rw,
}
for kind, module in [("additive", Additive()), ("general", General()), ("dot", Dot())]:
    h = values.clone().requires_grad_(True)
    s = (query_dot if kind == "dot" else query).clone().requires_grad_(True)
    context, alpha = step(module, h, s)
    loss = (context * rc).sum() + (alpha * rw).sum()
    loss.backward()
    for name, p in module.named_parameters():
        out[f"{kind}.{name}"] = p.detach()
        out[f"{kind}.grad.{name}"] = p.grad
    out[f"{kind}.context"] = context.detach()
    out[f"{kind}.weights"] = alpha.detach()
    out[f"{kind}.grad.values"] = h.grad
    out[f"{kind}.grad.query"] = s.grad


here = os.path.dirname(os.path.abspath(__file__))
safetensors_out.write(os.path.join(here, "fixtures", "attention.safetensors"), out,
                      float_dtype=torch.float32)
print("wrote", os.path.join(here, "fixtures", "attention.safetensors"))
