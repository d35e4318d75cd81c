#!/usr/bin/python3
"""Writes tests/nn/fixtures/jordan.safetensors: reference values for the
Jordan network test (test_jordan.c).

Run with Debian's python3-torch (float64 throughout):
    /usr/bin/python3 tests/nn/gen_jordan_fixture.py

PyTorch has no Jordan module, so the reference below is written by hand from
plain tensor ops, straight from the equations in nn/jordan.h:

    h_t = act(W_ih x_t + b_ih + W_yh y_{t-1}),   y_t = W_hy h_t + b_hy

with y_{-1} = y0 and, under teacher forcing, the previous target fed back
instead of the previous output. Autograd gives the gradients of
L = sum(y * RY) + sum(h * RH) for fixed random RY, RH.

The file holds the parameters under the module's names (weight_ih_l0, ...),
the inputs (x, y0, targets, RY, RH) and, for each case, "<case>.y",
"<case>.h", "<case>.feedback" and "<case>.grad.<name>" for every parameter
and for x, y0 (and targets in the teacher-forced case).

The safetensors file is written by hand (struct + json) so that the script
needs nothing beyond torch.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)

torch.set_default_dtype(torch.float64)
T, B, I, H, O = 5, 3, 4, 6, 2
gen = torch.Generator().manual_seed(1986)  # Jordan's year


def randn(*shape, scale=1.0):
    return torch.randn(*shape, generator=gen) * scale


PARAMS = {
    "weight_ih_l0": randn(H, I, scale=0.5),
    "bias_ih_l0": randn(H, scale=0.5),
    "weight_yh_l0": randn(H, O, scale=0.5),
    "weight_hy": randn(O, H, scale=0.5),
    "bias_hy": randn(O, scale=0.5),
}
X = randn(T, B, I)
Y0 = randn(B, O)
TARGETS = randn(T, B, O)
RY = randn(T, B, O)
RH = randn(T, B, H)


def jordan(p, x, y0, targets, act):
    """The reference: a plain loop over steps. Returns y, h, feedback."""
    ys, hs, prev, pres = [], [], y0, []
    for t in range(x.shape[0]):
        pre = x[t] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + prev @ p["weight_yh_l0"].T
        pres.append(pre)
        h = act(pre)
        y = h @ p["weight_hy"].T + p["bias_hy"]
        hs.append(h)
        ys.append(y)
        prev = targets[t] if targets is not None else y
    return torch.stack(ys), torch.stack(hs), prev, torch.stack(pres)


CASES = [  # name, act, teacher forcing
    ("free", torch.tanh, False),
    ("forced", torch.tanh, True),
    ("relu_free", torch.relu, False),
]

out = {name: v for name, v in PARAMS.items()}
out.update(x=X, y0=Y0, targets=TARGETS, RY=RY, RH=RH)
for case, act, forced in CASES:
    p = {k: v.clone().requires_grad_(True) for k, v in PARAMS.items()}
    x = X.clone().requires_grad_(True)
    y0 = Y0.clone().requires_grad_(True)
    targets = TARGETS.clone().requires_grad_(True) if forced else None
    y, h, feedback, pre = jordan(p, x, y0, targets, act)
    # relu is checked away from its kink
    assert pre.abs().min() > 1e-3, (case, pre.abs().min())
    loss = (y * RY).sum() + (h * RH).sum()
    loss.backward()
    out[f"{case}.y"] = y.detach()
    out[f"{case}.h"] = h.detach()
    out[f"{case}.feedback"] = feedback.detach()
    for k, v in p.items():
        out[f"{case}.grad.{k}"] = v.grad
    out[f"{case}.grad.x"] = x.grad
    out[f"{case}.grad.y0"] = y0.grad
    if forced:
        out[f"{case}.grad.targets"] = targets.grad


here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
dest = os.path.join(here, "fixtures", "jordan.safetensors")
safetensors_out.write(dest, out, float_dtype=torch.float64)
print(f"wrote {dest}: {len(out)} tensors")
