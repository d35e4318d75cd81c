#!/usr/bin/python3
"""Reference numbers for tests/autograd/test_ops_norm.c: torch's layer norm
over the last axis of X [3, 5] = XQ / 4 with gain G and bias Bv, eps 1e-5,
and the gradients of sum(y * WT) for WT = WQ / 8. Prints C arrays to paste
into the test (run: /usr/bin/python3 tests/autograd/gen_layer_norm_reference.py)."""
import torch

torch.set_default_dtype(torch.float64)
XQ = [11, 2, -2, 10, 7, -1, -7, 1, -5, -8, 12, -6, 4, -9, 6]
WQ = [3, -1, 4, 1, -5, 9, 2, -6, 5, 3, -5, 8, 9, -7, 9]
GAIN = [0.5, 1.5, -1.0, 2.0, 1.0]
BIAS = [0.25, -0.5, 0.0, 1.0, -1.25]

x = (torch.tensor(XQ, dtype=torch.float64) / 4).reshape(3, 5).requires_grad_()
g = torch.tensor(GAIN).requires_grad_()
b = torch.tensor(BIAS).requires_grad_()
wt = (torch.tensor(WQ, dtype=torch.float64) / 8).reshape(3, 5)
y = torch.nn.functional.layer_norm(x, [5], g, b, 1e-5)
(y * wt).sum().backward()


def emit(name, t):
    vals = ", ".join(repr(float(v)) for v in t.detach().reshape(-1))
    print(f"static const double {name}[{t.numel()}] = {{{vals}}};")


emit("LN_Y", y)
emit("LN_DX", x.grad)
emit("LN_DGAIN", g.grad)
emit("LN_DBIAS", b.grad)
