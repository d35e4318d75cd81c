#!/usr/bin/python3
"""Writes tests/optim/fixtures/optim_reference.h: PyTorch's own numbers for
the optimizer, clipping and schedule tests.

Run with Debian's python3-torch (float64 throughout):
    /usr/bin/python3 tests/optim/gen_optim_fixtures.py

The problem: two parameters, W [2,3] and b [2], from fixed starting values,
and a fixed sequence of 20 gradients (seeded, with steps of very different
sizes). Each optimizer configuration below takes its 20 steps with those
gradients, and the parameters after every step are recorded. The C test
(test_optim_parity.c) holds the same configurations under the same names.
"""
import math
import os
import warnings

import torch

torch.set_default_dtype(torch.float64)
# SequentialLR calls step(0) on its later schedulers, which warns.
warnings.filterwarnings("ignore", category=UserWarning)
STEPS = 20
W0 = torch.tensor([[0.5, -0.3, 0.8], [-0.9, 0.1, 0.25]])
B0 = torch.tensor([0.2, -0.7])
SKIP_B = {3, 4, 11}  # steps (0-based) at which b has no gradient (grad None)

gen = torch.Generator().manual_seed(20240611)
GW, GB = [], []
for t in range(STEPS):
    scale = [1.0, 0.01, 3.0, 0.3][t % 4]  # big and small steps alike
    GW.append(torch.randn(2, 3, generator=gen) * scale)
    GB.append(torch.randn(2, generator=gen) * scale)


def lr_exp(t):
    return 0.1 * 0.9 ** t


# name -> (constructor, options, extra); extra: 'skip' (b has no grad at
# SKIP_B), 'sched' (lr = lr_exp(t) before step t), 'nodecay_b' (b in a group
# with weight_decay 0).
O = torch.optim
CONFIGS = [
    ("sgd_plain", O.SGD, dict(lr=0.1), None),
    ("sgd_momentum", O.SGD, dict(lr=0.1, momentum=0.9), None),
    ("sgd_dampening", O.SGD, dict(lr=0.1, momentum=0.9, dampening=0.3), None),
    ("sgd_nesterov", O.SGD, dict(lr=0.1, momentum=0.9, nesterov=True), None),
    ("sgd_wd", O.SGD, dict(lr=0.1, weight_decay=0.1), None),
    ("sgd_all", O.SGD, dict(lr=0.05, momentum=0.8, weight_decay=0.2, nesterov=True), None),
    ("sgd_sched", O.SGD, dict(lr=0.1, momentum=0.9), "sched"),
    ("sgd_skip", O.SGD, dict(lr=0.1, momentum=0.9, dampening=0.5), "skip"),
    ("adagrad_default", O.Adagrad, dict(), None),
    ("adagrad_lr_decay", O.Adagrad, dict(lr=0.1, lr_decay=0.05), None),
    ("adagrad_wd", O.Adagrad, dict(lr=0.1, weight_decay=0.1), None),
    ("adagrad_init_eps", O.Adagrad, dict(lr=0.1, initial_accumulator_value=0.5, eps=1e-3), None),
    ("adagrad_skip", O.Adagrad, dict(lr=0.1, lr_decay=0.1), "skip"),
    ("rmsprop_default", O.RMSprop, dict(), None),
    ("rmsprop_momentum", O.RMSprop, dict(lr=0.01, momentum=0.9), None),
    ("rmsprop_centered", O.RMSprop, dict(lr=0.01, centered=True), None),
    ("rmsprop_all", O.RMSprop, dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=0.1,
                                   momentum=0.5, centered=True), None),
    ("adam_default", O.Adam, dict(), None),
    ("adam_lr", O.Adam, dict(lr=0.1), None),
    ("adam_wd", O.Adam, dict(lr=0.1, weight_decay=0.1), None),
    ("adam_amsgrad", O.Adam, dict(lr=0.1, amsgrad=True), None),
    ("adam_betas", O.Adam, dict(lr=0.1, betas=(0.5, 0.9), eps=1e-6), None),
    ("adam_beta1_zero", O.Adam, dict(lr=0.1, betas=(0.0, 0.99)), None),
    ("adam_all", O.Adam, dict(lr=0.05, betas=(0.8, 0.95), weight_decay=0.2, amsgrad=True), None),
    ("adam_skip", O.Adam, dict(lr=0.1), "skip"),
    ("adam_sched", O.Adam, dict(lr=0.1), "sched"),
    ("adamw_default", O.AdamW, dict(), None),
    ("adamw_lr", O.AdamW, dict(lr=0.1), None),
    ("adamw_wd_amsgrad", O.AdamW, dict(lr=0.1, weight_decay=0.5, amsgrad=True), None),
    ("adamw_no_wd", O.AdamW, dict(lr=0.1, weight_decay=0.0), None),
    ("adamw_nodecay_b", O.AdamW, dict(lr=0.1, weight_decay=0.3), "nodecay_b"),
    ("sgd_nodecay_b", O.SGD, dict(lr=0.1, momentum=0.9, weight_decay=0.2), "nodecay_b"),
]


def run(ctor, opts, extra):
    W = W0.clone().requires_grad_(True)
    b = B0.clone().requires_grad_(True)
    if extra == "nodecay_b":
        opt = ctor([{"params": [W]}, {"params": [b], "weight_decay": 0.0}], **opts)
    else:
        opt = ctor([W, b], **opts)
    out = []
    for t in range(STEPS):
        W.grad = GW[t].clone()
        b.grad = None if (extra == "skip" and t in SKIP_B) else GB[t].clone()
        if extra == "sched":
            for g in opt.param_groups:
                g["lr"] = lr_exp(t)
        opt.step()
        out.append(torch.cat([W.detach().flatten(), b.detach().flatten()]).tolist())
    return out


def clip_cases():
    """clip_grad_norm_ and clip_grad_value_ on two gradients [3,4] and [5]."""
    g = torch.Generator().manual_seed(7)
    g1 = torch.randn(3, 4, generator=g)
    g2 = torch.randn(5, generator=g) * 2
    cases = []
    for name, max_norm, p in [("l2", 1.0, 2.0), ("inf", 0.5, math.inf), ("l1", 2.0, 1.0),
                              ("l3", 1.5, 3.0), ("l2_noclip", 100.0, 2.0)]:
        a = torch.zeros_like(g1, requires_grad=True)
        c = torch.zeros_like(g2, requires_grad=True)
        a.grad, c.grad = g1.clone(), g2.clone()
        total = torch.nn.utils.clip_grad_norm_([a, c], max_norm, norm_type=p)
        cases.append((name, max_norm, p, total.item(),
                      torch.cat([a.grad.flatten(), c.grad.flatten()]).tolist()))
    a = torch.zeros_like(g1, requires_grad=True)
    c = torch.zeros_like(g2, requires_grad=True)
    a.grad, c.grad = g1.clone(), g2.clone()
    torch.nn.utils.clip_grad_value_([a, c], 0.75)
    value = torch.cat([a.grad.flatten(), c.grad.flatten()]).tolist()
    return torch.cat([g1.flatten(), g2.flatten()]).tolist(), cases, value


EPOCHS = 30
BASE_LR = 0.1


def sched_values(make):
    p = torch.zeros(1, requires_grad=True)
    opt = O.SGD([p], lr=BASE_LR)
    s = make(opt)
    vals = []
    for _ in range(EPOCHS):
        vals.append(opt.param_groups[0]["lr"])
        opt.step()
        s.step()
    return vals


S = O.lr_scheduler
SCHEDULES = [
    ("step", lambda o: S.StepLR(o, step_size=7, gamma=0.5)),
    ("exponential", lambda o: S.ExponentialLR(o, gamma=0.9)),
    ("cosine", lambda o: S.CosineAnnealingLR(o, T_max=10, eta_min=0.001)),
    ("cosine_zero", lambda o: S.CosineAnnealingLR(o, T_max=7)),
    ("linear", lambda o: S.LinearLR(o, start_factor=0.25, end_factor=1.0, total_iters=8)),
    ("linear_decay", lambda o: S.LinearLR(o, start_factor=1.0, end_factor=0.1, total_iters=12)),
    ("warmup_cosine", lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.1, total_iters=5), S.CosineAnnealingLR(o, T_max=15)],
        milestones=[5])),
    ("warmup_step", lambda o: S.SequentialLR(
        o, [S.LinearLR(o, start_factor=0.5, total_iters=3), S.StepLR(o, step_size=4, gamma=0.3)],
        milestones=[3])),
]


def arr(values):
    return "{" + ", ".join(repr(float(v)) for v in values) + "}"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    path = os.path.join(here, "fixtures", "optim_reference.h")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    L = []
    w = L.append
    w("/* Generated by tests/optim/gen_optim_fixtures.py with PyTorch %s (float64);" % torch.__version__)
    w(" * do not edit. Regenerate: /usr/bin/python3 tests/optim/gen_optim_fixtures.py */")
    w("#ifndef OPTIM_REFERENCE_H\n#define OPTIM_REFERENCE_H\n")
    w("#define REF_STEPS %d" % STEPS)
    w("#define REF_NW 6 /* W [2,3] */\n#define REF_NB 2 /* b [2] */")
    w("static const double ref_w0[REF_NW] = %s;" % arr(W0.flatten().tolist()))
    w("static const double ref_b0[REF_NB] = %s;" % arr(B0.tolist()))
    w("/* steps (0-based) at which b has no gradient in the *_skip cases */")
    w("static const int ref_skip_b[] = {%s};" % ", ".join(str(s) for s in sorted(SKIP_B)))
    w("static const double ref_grad_w[REF_STEPS][REF_NW] = {")
    for g in GW:
        w("    %s," % arr(g.flatten().tolist()))
    w("};\nstatic const double ref_grad_b[REF_STEPS][REF_NB] = {")
    for g in GB:
        w("    %s," % arr(g.tolist()))
    w("};\n")
    w("/* Parameters after each step, W then b (row-major). */")
    w("typedef struct ref_case {\n    const char *name;\n"
      "    double params[REF_STEPS][REF_NW + REF_NB];\n} ref_case;")
    w("static const ref_case ref_cases[] = {")
    for name, ctor, opts, extra in CONFIGS:
        w("    /* torch.optim.%s(%s)%s */" % (ctor.__name__, ", ".join(
            "%s=%r" % kv for kv in opts.items()), " [%s]" % extra if extra else ""))
        w('    {"%s", {' % name)
        for row in run(ctor, opts, extra):
            w("        %s," % arr(row))
        w("    }},")
    w("};\n#define REF_NCASES ((int)(sizeof ref_cases / sizeof ref_cases[0]))\n")

    grads, cases, value = clip_cases()
    w("/* Clipping: gradients of a [3,4] and a [5] tensor, concatenated. */")
    w("#define REF_CLIP_N 17")
    w("static const double ref_clip_grad[REF_CLIP_N] = %s;" % arr(grads))
    w("typedef struct ref_clip {\n    const char *name;\n    double max_norm, norm_type, total_norm;\n"
      "    double grad[REF_CLIP_N];\n} ref_clip;")
    w("static const ref_clip ref_clips[] = {")
    for name, max_norm, p, total, g in cases:
        ptxt = "INFINITY" if math.isinf(p) else repr(p)
        w('    {"%s", %r, %s, %r, %s},' % (name, max_norm, ptxt, total, arr(g)))
    w("};\n#define REF_NCLIPS ((int)(sizeof ref_clips / sizeof ref_clips[0]))")
    w("/* clip_grad_value_(.., 0.75) */")
    w("static const double ref_clip_value[REF_CLIP_N] = %s;\n" % arr(value))

    w("/* Learning rates for epochs 0..REF_EPOCHS-1 from torch's schedulers, stepped")
    w(" * once per epoch, base lr %r. */" % BASE_LR)
    w("#define REF_EPOCHS %d\n#define REF_BASE_LR %r" % (EPOCHS, BASE_LR))
    w("typedef struct ref_sched {\n    const char *name;\n    double lr[REF_EPOCHS];\n} ref_sched;")
    w("static const ref_sched ref_scheds[] = {")
    for name, make in SCHEDULES:
        w('    {"%s", %s},' % (name, arr(sched_values(make))))
    w("};\n#define REF_NSCHEDS ((int)(sizeof ref_scheds / sizeof ref_scheds[0]))\n")
    w("#endif")
    with open(path, "w") as f:
        f.write("\n".join(L) + "\n")
    print("wrote", path)


if __name__ == "__main__":
    main()
