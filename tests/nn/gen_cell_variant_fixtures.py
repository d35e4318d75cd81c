#!/usr/bin/python3
"""Writes tests/nn/fixtures/cell_variant.safetensors: a reference in PyTorch
for the wishlist's cells (nn/cell_variant.h), read by
tests/nn/test_cell_variant.c.

Run with Debian's python3-torch:
    /usr/bin/python3 tests/nn/gen_cell_variant_fixtures.py

PyTorch has none of these cells, so they are written here from their
papers, step by step in a Python loop, as a PyTorch user writes them:
layer-norm LSTM and GRU (Ba et al. 2016: gx and gh normalised separately,
an LSTM's cell before its activation), peephole LSTM (Gers and Schmidhuber),
chosen activations, variational dropout (Gal and Ghahramani: one mask per
sequence on the input and on the h the recurrent product reads), zoneout
(Krueger et al.: per-step masks keep the old state in training, the
expectation in evaluation). Variable lengths as packed sequences (a state
stays at its last step, outputs 0 past it). The masks are tapegrad's
counter hash (nn/mask_hash.h), rewritten below, so training runs compare
too.

Everything is float64. Each config <c> stores its tensors as "<c>.name":
parameters under tapegrad's names, "input", optional "h0"/"c0", "lengths"
(I64), "output", "h_n", "c_n", weights "w_output", "w_h_n", "w_c_n" and the
gradients "grad.<name>" of L = sum(output*w_output) + sum(h_n*w_h_n)
(+ sum(c_n*w_c_n)). The configuration is in __metadata__ as "<c>.<key>".
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import safetensors_out  # noqa: E402 (tests/safetensors_out.py)

T, B, I, H = 5, 3, 4, 6
SEED = 42  # tg_rnn_options.seed in the test
HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "fixtures", "cell_variant.safetensors")
M64 = (1 << 64) - 1

# name, base, options (as the C API's), layer options
CONFIGS = [
    ("ln_lstm", "lstm", dict(layer_norm=True), dict(bidir=True, lengths=[3, 5, 2])),
    ("ln_gru", "gru", dict(layer_norm=True), dict(layers=2, h0=True)),
    ("peephole_lstm", "lstm", dict(peephole=True), dict(layers=2, bidir=True, h0=True, c0=True)),
    ("act_lstm", "lstm", dict(gate_activation="hard_sigmoid", activation="softsign"), dict()),
    ("act_lstm2", "lstm", dict(activation="hard_tanh"), dict(lengths=[5, 1, 4])),
    ("act_gru", "gru", dict(gate_activation="hard_sigmoid", activation="identity"), dict()),
    ("act_gru2", "gru", dict(activation="relu"), dict(bidir=True)),
    ("zoneout_lstm", "lstm", dict(zoneout_h=0.3, zoneout_c=0.2),
     dict(train=True, bidir=True, lengths=[4, 5, 2])),
    ("zoneout_lstm_eval", "lstm", dict(zoneout_h=0.3, zoneout_c=0.2), dict(train=False)),
    ("zoneout_gru", "gru", dict(zoneout_h=0.4), dict(train=True, layers=2)),
    ("dropout_lstm", "lstm", dict(recurrent_dropout=0.25, input_dropout=0.2),
     dict(train=True, layers=2)),
    ("dropout_gru", "gru", dict(recurrent_dropout=0.3, input_dropout=0.3),
     dict(train=True, bidir=True, lengths=[2, 5, 3])),
    ("dropout_eval", "lstm", dict(recurrent_dropout=0.25, input_dropout=0.2), dict(train=False)),
    ("all_lstm", "lstm", dict(layer_norm=True, peephole=True, zoneout_h=0.2, zoneout_c=0.1,
                              recurrent_dropout=0.2, input_dropout=0.1,
                              gate_activation="hard_sigmoid"),
     dict(train=True, layers=2, bidir=True, lengths=[5, 3, 4], h0=True, c0=True)),
]


# ---- tapegrad's masks (nn/mask_hash.h, nn/cell_variant_steps.c) ----------
def mix64(x):
    x = (x + 0x9E3779B97F4A7C15) & M64
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & M64
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & M64
    return x ^ (x >> 31)


def mask_key(seed, stream, time):
    return mix64(mix64(mix64(seed) ^ stream) ^ (time & M64))


def uniform(key, rows, width):
    u = torch.empty(rows, width, dtype=torch.float64)
    for r in range(rows):
        for c in range(width):
            u[r, c] = (mix64(key ^ ((r * width + c) & M64)) >> 11) * 2.0 ** -53
    return u


STREAM_INPUT, STREAM_H, STREAM_ZONE = 1, 2, 3


def drop_mask(seed, stream, time, rows, width, p):
    """1/(1-p) where the hash draws at least p, else 0."""
    return (uniform(mask_key(seed, stream, time), rows, width) >= p).double() / (1 - p)


def keep_mask(seed, stream, time, rows, width, p):
    """True where the hash draws below p: zoneout keeps the old value."""
    return uniform(mask_key(seed, stream, time), rows, width) < p


# ---- the cells ------------------------------------------------------------
ACT = {
    "sigmoid": torch.sigmoid,
    # F.hardsigmoid's value, but its backward multiplies by a float32 1/6
    # even in float64 (a 3e-8 relative error), so written out here
    "hard_sigmoid": lambda x: torch.clamp(x / 6 + 0.5, 0, 1),
    "tanh": torch.tanh,
    "hard_tanh": F.hardtanh,
    "softsign": F.softsign,
    "relu": torch.relu,
    "identity": lambda x: x,
}


def param_specs(base, o):
    """The cell's own parameters in tapegrad's order: (name, width)."""
    G = 4 if base == "lstm" else 3
    out = []
    if o.get("layer_norm"):
        out += [("ln_ih_weight", G), ("ln_ih_bias", G), ("ln_hh_weight", G), ("ln_hh_bias", G)]
        if base == "lstm":
            out += [("ln_c_weight", 1), ("ln_c_bias", 1)]
    if o.get("peephole"):
        out += [("weight_ci", 1), ("weight_cf", 1), ("weight_co", 1)]
    return out


def ln(x, g, b):
    return F.layer_norm(x, (x.shape[-1],), g, b, 1e-5)


def step(base, o, P, gx, h, c, w_hh, b_hh, seed, tt, train):
    gact, cact = ACT[o.get("gate_activation", "sigmoid")], ACT[o.get("activation", "tanh")]
    h_in = h
    if train and o.get("recurrent_dropout", 0) > 0:
        h_in = h * drop_mask(seed, STREAM_H, -1, B, H, o["recurrent_dropout"])
    gh = h_in @ w_hh.t() + b_hh
    if o.get("layer_norm"):
        gx = ln(gx, P["ln_ih_weight"], P["ln_ih_bias"])
        gh = ln(gh, P["ln_hh_weight"], P["ln_hh_bias"])
    if base == "lstm":
        gi, gf, gg, go = (gx + gh).chunk(4, 1)
        if o.get("peephole"):
            gi = gi + P["weight_ci"] * c
            gf = gf + P["weight_cf"] * c
        i, f, g = gact(gi), gact(gf), cact(gg)
        c1 = f * c + i * g
        if o.get("peephole"):
            go = go + P["weight_co"] * c1
        cn = ln(c1, P["ln_c_weight"], P["ln_c_bias"]) if o.get("layer_norm") else c1
        h1 = gact(go) * cact(cn)
        new = [h1, c1]
    else:
        xr, xz, xn = gx.chunk(3, 1)
        hr, hz, hn = gh.chunk(3, 1)
        r, z = gact(xr + hr), gact(xz + hz)
        n = cact(xn + r * hn)
        new = [n + z * (h - n)]
    old = [h, c]
    for k, p in ((0, o.get("zoneout_h", 0)), (1, o.get("zoneout_c", 0))):
        if p <= 0 or k >= len(new):
            continue
        if train:
            new[k] = torch.where(keep_mask(seed, STREAM_ZONE + k, tt, B, H, p), old[k], new[k])
        else:
            new[k] = new[k] + p * (old[k] - new[k])
    return new


def run(index, name, base, o, lo):
    torch.manual_seed(2000 + index)
    L, D = lo.get("layers", 1), 2 if lo.get("bidir") else 1
    G = 4 if base == "lstm" else 3
    train = lo.get("train", False)
    lengths = lo.get("lengths")
    params = []  # (name, tensor) in tapegrad's order
    for l in range(L):
        for d in range(D):
            sfx = f"_l{l}" + ("_reverse" if d else "")
            inp = I if l == 0 else D * H
            params += [("weight_ih" + sfx, torch.randn(G * H, inp) * 0.5),
                       ("weight_hh" + sfx, torch.randn(G * H, H) * 0.5),
                       ("bias_ih" + sfx, torch.randn(G * H) * 0.3),
                       ("bias_hh" + sfx, torch.randn(G * H) * 0.3)]
            for pn, w in param_specs(base, o):
                v = torch.randn(w * H) * 0.3
                if pn.endswith("_weight"):
                    v = v + 1  # gains near 1, as they start
                params.append((pn + sfx, v))
    params = [(n, p.double().requires_grad_()) for n, p in params]
    P = dict(params)
    x = torch.randn(T, B, I, dtype=torch.float64, requires_grad=True)
    h0 = torch.randn(L * D, B, H, dtype=torch.float64, requires_grad=True) if lo.get("h0") else None
    c0 = torch.randn(L * D, B, H, dtype=torch.float64, requires_grad=True) if lo.get("c0") else None
    valid = [[t < (lengths[b] if lengths else T) for b in range(B)] for t in range(T)]

    layer_in, hn, cn = x, [], []
    for l in range(L):
        outs = []
        for d in range(D):
            k = l * D + d
            sfx = f"_l{l}" + ("_reverse" if d else "")
            seed = mix64((SEED ^ k) & M64)
            xin = layer_in
            if train and o.get("input_dropout", 0) > 0:
                xin = xin * drop_mask(seed, STREAM_INPUT, -1, B, xin.shape[2], o["input_dropout"])
            gx_all = xin @ P["weight_ih" + sfx].t() + P["bias_ih" + sfx]
            h = h0[k] if h0 is not None else torch.zeros(B, H, dtype=torch.float64)
            c = c0[k] if c0 is not None else torch.zeros(B, H, dtype=torch.float64)
            Pk = {pn: P[pn + sfx] for pn, _ in param_specs(base, o)}
            steps = [None] * T
            for s in range(T):
                tt = T - 1 - s if d else s
                new = step(base, o, Pk, gx_all[tt], h, c, P["weight_hh" + sfx],
                           P["bias_hh" + sfx], seed, tt, train)
                m = torch.tensor(valid[tt], dtype=torch.bool).unsqueeze(1)
                h = torch.where(m, new[0], h)
                if base == "lstm":
                    c = torch.where(m, new[1], c)
                steps[tt] = new[0] * m.double()
            outs.append(torch.stack(steps))
            hn.append(h)
            cn.append(c)
        layer_in = torch.cat(outs, 2) if D == 2 else outs[0]
    out, h_n = layer_in, torch.stack(hn)
    w_out = torch.randn(out.shape, dtype=torch.float64)
    w_h = torch.randn(h_n.shape, dtype=torch.float64)
    loss = (out * w_out).sum() + (h_n * w_h).sum()
    tensors = list(params) + [("input", x)]
    if base == "lstm":
        c_n = torch.stack(cn)
        w_c = torch.randn(c_n.shape, dtype=torch.float64)
        loss = loss + (c_n * w_c).sum()
    loss.backward()
    if h0 is not None:
        tensors.append(("h0", h0))
    if c0 is not None:
        tensors.append(("c0", c0))
    if lengths:
        tensors.append(("lengths", torch.tensor(lengths, dtype=torch.int64)))
    tensors += [("output", out), ("h_n", h_n), ("w_output", w_out), ("w_h_n", w_h)]
    if base == "lstm":
        tensors += [("c_n", c_n), ("w_c_n", w_c)]
    tensors += [("grad." + n, p.grad) for n, p in params]
    tensors.append(("grad.input", x.grad))
    if h0 is not None:
        tensors.append(("grad.h0", h0.grad))
    if c0 is not None:
        tensors.append(("grad.c0", c0.grad))
    yes = lambda v: "true" if v else "false"
    meta = {"base": base, "num_layers": str(L), "bidirectional": yes(D == 2),
            "training": yes(train), "layer_norm": yes(o.get("layer_norm")),
            "peephole": yes(o.get("peephole")),
            "gate_activation": o.get("gate_activation", "sigmoid"),
            "activation": o.get("activation", "tanh")}
    for key in ("recurrent_dropout", "input_dropout", "zoneout_h", "zoneout_c"):
        meta[key] = repr(float(o.get(key, 0)))
    return [(f"{name}.{n}", t) for n, t in tensors], {f"{name}.{k}": v for k, v in meta.items()}


def main():
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    tensors, meta = [], {"configs": ",".join(c[0] for c in CONFIGS),
                         "T": str(T), "B": str(B), "input_size": str(I), "hidden_size": str(H),
                         "seed": str(SEED)}
    for index, (name, base, o, lo) in enumerate(CONFIGS):
        t, m = run(index, name, base, o, lo)
        tensors += t
        meta.update(m)
    safetensors_out.write(OUT, tensors, meta)
    print(f"{OUT}: {len(tensors)} tensors, {os.path.getsize(OUT)} bytes")


if __name__ == "__main__":
    main()
