#!/usr/bin/python3
"""Writes tests/nn/fixtures/treelstm.safetensors: reference values for the
tree nets (test_treenet_parity.c).

Run with Debian's python3-torch (float64 throughout):
    /usr/bin/python3 tests/nn/gen_treelstm_fixture.py

PyTorch has no tree modules, so the references below are written by hand,
one node at a time in post-order, straight from the papers' equations with a
separate matrix per gate (and per child position), exactly as printed:

  Child-Sum Tree-LSTM (Tai, Socher, Manning 2015, eqs. 2-8)
      ht = sum_k h_k
      i = s(W_i x + U_i ht + b_i)     o = s(W_o x + U_o ht + b_o)
      u = tanh(W_u x + U_u ht + b_u)  f_k = s(W_f x + U_f h_k + b_f)
      c = i*u + sum_k f_k*c_k         h = o*tanh(c)
  N-ary Tree-LSTM (eqs. 9-14), N = 2, missing children are zeros
      g = W_g x + sum_l U_g[l] h_l + b_g           (g = i, o, u)
      f_k = s(W_f x + sum_l U_f[k][l] h_l + b_f)
  TreeRNN (Socher et al. 2011), N = 2: leaf h = x,
      inner h = tanh(W_1 h_1 + W_2 h_2 + b + x)

Autograd gives the gradients of L = sum(h * RH) + sum(c * RC) (RNN: the h
term) with respect to every per-gate matrix and to x; this script then packs
parameters and gradients into tapegrad's layouts (weight_ih [4H, I] rows
i, o, u, f; weight_hh [4H, H] or [(3+N)H, N*H]; bias [4H]; the RNN's weight
[H, N*H]), so the C test also checks the packing.

The trees are in __metadata__ as bracketed text; the C test reads them with
its own reader. Node order is post-order, trees one after another.

The safetensors file is written by hand (struct + json) so that the script
needs nothing beyond torch.
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)

torch.set_default_dtype(torch.float64)
H, I, N = 4, 3, 2
gen = torch.Generator().manual_seed(2015)  # Tai, Socher, Manning

# arity 0..4, unary chains, a single-leaf tree; tokens at some inner nodes
TREES_ANY = [
    "(1 (0 a) (2 (1 b) (0 c) (3 d) (4 e)) (2 f))",
    "(0 (1 (2 (3 x))))",
    "(4 z)",
    "(2 head (1 (0 a) (1 b)) (3 c))",
]
# arity <= 2 for the N-ary cells
TREES_BIN = [
    "(2 (1 (0 a) (1 b)) (3 c))",
    "(4 z)",
    "(1 (2 + (0 a) (1 b)) (0 (1 c)))",
    "(0 (1 (2 (3 x) (2 y))) (1 w))",
]


def parse(text):
    """Post-order nodes of one tree: a list of child-index lists."""
    nodes, stack, i = [], [], 0
    while i < len(text):
        ch = text[i]
        if ch == "(":
            stack.append([])
        elif ch == ")":
            kids = stack.pop()
            nodes.append(kids)
            if stack:
                stack[-1].append(len(nodes) - 1)
        i += 1
    return nodes


def batch(trees):
    """All trees' nodes numbered one tree after another."""
    out = []
    for t in trees:
        base = len(out)
        out += [[base + k for k in kids] for kids in parse(t)]
    return out


def randn(*shape, scale=0.5):
    return (torch.randn(*shape, generator=gen) * scale).requires_grad_(True)


def child_sum(nodes, x, p):
    hs, cs = [None] * len(nodes), [None] * len(nodes)
    for j, kids in enumerate(nodes):
        ht = sum((hs[k] for k in kids), torch.zeros(H))
        i = torch.sigmoid(p["W_i"] @ x[j] + p["U_i"] @ ht + p["b_i"])
        o = torch.sigmoid(p["W_o"] @ x[j] + p["U_o"] @ ht + p["b_o"])
        u = torch.tanh(p["W_u"] @ x[j] + p["U_u"] @ ht + p["b_u"])
        c = i * u
        for k in kids:
            f = torch.sigmoid(p["W_f"] @ x[j] + p["U_f"] @ hs[k] + p["b_f"])
            c = c + f * cs[k]
        hs[j], cs[j] = o * torch.tanh(c), c
    return torch.stack(hs), torch.stack(cs)


def nary(nodes, x, p):
    hs, cs = [None] * len(nodes), [None] * len(nodes)
    for j, kids in enumerate(nodes):
        assert len(kids) <= N
        hl = [hs[k] for k in kids] + [torch.zeros(H)] * (N - len(kids))
        cl = [cs[k] for k in kids] + [torch.zeros(H)] * (N - len(kids))

        def pre(g):
            return p[f"W_{g}"] @ x[j] + sum(p[f"U_{g}{l}"] @ hl[l] for l in range(N)) + p[f"b_{g}"]
        i, o, u = torch.sigmoid(pre("i")), torch.sigmoid(pre("o")), torch.tanh(pre("u"))
        c = i * u
        for k in range(N):
            f = torch.sigmoid(p["W_f"] @ x[j] + sum(p[f"U_f{k}{l}"] @ hl[l] for l in range(N))
                              + p["b_f"])
            c = c + f * cl[k]
        hs[j], cs[j] = o * torch.tanh(c), c
    return torch.stack(hs), torch.stack(cs)


def tree_rnn(nodes, x, p):
    hs = [None] * len(nodes)
    for j, kids in enumerate(nodes):
        if not kids:
            hs[j] = x[j]
            continue
        hl = [hs[k] for k in kids] + [torch.zeros(H)] * (N - len(kids))
        hs[j] = torch.tanh(sum(p[f"W{l}"] @ hl[l] for l in range(N)) + p["b"] + x[j])
    return torch.stack(hs)


out = {}


def record(prefix, packed, grads, x, h, c, rh, rc):
    for name, v in packed.items():
        out[f"{prefix}.{name}"] = v
        out[f"{prefix}.grad.{name}"] = grads[name]
    out[f"{prefix}.x"] = x.detach()
    out[f"{prefix}.grad.x"] = x.grad
    out[f"{prefix}.RH"] = rh
    out[f"{prefix}.h"] = h.detach()
    if c is not None:
        out[f"{prefix}.RC"] = rc
        out[f"{prefix}.c"] = c.detach()


# ---- Child-Sum -------------------------------------------------------------
nodes = batch(TREES_ANY)
G = "iouf"
p = {f"W_{g}": randn(H, I) for g in G}
p.update({f"U_{g}": randn(H, H) for g in G})
p.update({f"b_{g}": randn(H) for g in G})
x = randn(len(nodes), I, scale=1.0)
rh, rc = torch.randn(len(nodes), H, generator=gen), torch.randn(len(nodes), H, generator=gen)
h, c = child_sum(nodes, x, p)
((h * rh).sum() + (c * rc).sum()).backward()
cat = torch.cat
packed = {
    "weight_ih": cat([p[f"W_{g}"] for g in G]).detach(),
    "weight_hh": cat([p[f"U_{g}"] for g in G]).detach(),
    "bias": cat([p[f"b_{g}"] for g in G]).detach(),
}
grads = {
    "weight_ih": cat([p[f"W_{g}"].grad for g in G]),
    "weight_hh": cat([p[f"U_{g}"].grad for g in G]),
    "bias": cat([p[f"b_{g}"].grad for g in G]),
}
record("childsum", packed, grads, x, h, c, rh, rc)

# ---- N-ary, N = 2 ---------------------------------------------------------------
nodes = batch(TREES_BIN)
p = {f"W_{g}": randn(H, I) for g in G}
p.update({f"b_{g}": randn(H) for g in G})
p.update({f"U_{g}{l}": randn(H, H) for g in "iou" for l in range(N)})
p.update({f"U_f{k}{l}": randn(H, H) for k in range(N) for l in range(N)})
x = randn(len(nodes), I, scale=1.0)
rh, rc = torch.randn(len(nodes), H, generator=gen), torch.randn(len(nodes), H, generator=gen)
h, c = nary(nodes, x, p)
((h * rh).sum() + (c * rc).sum()).backward()
ROWS = ["i", "o", "u"] + [f"f{k}" for k in range(N)]


def hh(get):
    return cat([cat([get(f"U_{r}{l}") for l in range(N)], dim=1) for r in ROWS])


packed = {
    "weight_ih": cat([p[f"W_{g}"] for g in G]).detach(),
    "weight_hh": hh(lambda n: p[n]).detach(),
    "bias": cat([p[f"b_{g}"] for g in G]).detach(),
}
grads = {
    "weight_ih": cat([p[f"W_{g}"].grad for g in G]),
    "weight_hh": hh(lambda n: p[n].grad),
    "bias": cat([p[f"b_{g}"].grad for g in G]),
}
record("nary", packed, grads, x, h, c, rh, rc)

# ---- TreeRNN, N = 2 ---------------------------------------------------------------
p = {f"W{l}": randn(H, H) for l in range(N)}
p["b"] = randn(H)
x = randn(len(nodes), H, scale=1.0)
rh = torch.randn(len(nodes), H, generator=gen)
h = tree_rnn(nodes, x, p)
(h * rh).sum().backward()
packed = {"weight": cat([p[f"W{l}"] for l in range(N)], dim=1).detach(), "bias": p["b"].detach()}
grads = {"weight": cat([p[f"W{l}"].grad for l in range(N)], dim=1), "bias": p["b"].grad}
record("rnn", packed, grads, x, h, None, rh, None)


meta = {"H": str(H), "I": str(I), "N": str(N),
        "trees_any": "\n".join(TREES_ANY), "trees_bin": "\n".join(TREES_BIN)}
here = os.path.dirname(os.path.abspath(__file__))
os.makedirs(os.path.join(here, "fixtures"), exist_ok=True)
dest = os.path.join(here, "fixtures", "treelstm.safetensors")
safetensors_out.write(dest, out, meta, float_dtype=torch.float64)
print(f"wrote {dest}: {len(out)} tensors")
