#!/usr/bin/python3
"""Reference numbers for tests/autograd/test_ops_distill.c (tg_soft_target_kl).

Run with Debian's python3-torch (plain `python3` on PATH may not see torch):

    /usr/bin/python3 tests/autograd/gen_distill_reference.py

It prints C initialisers; the test holds them verbatim (between clang-format
off/on) next to the same inputs as defined here, so keep the two in step if
you change an input. All in double precision. Gradients are of
loss * 1.5 (a non-unit incoming gradient).
"""
import os
import sys

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from gen_ops_reference import c_array  # noqa: E402 (the same C layout)

torch.set_default_dtype(torch.float64)

# student and teacher logits [3, 5]: multiples of 1/8 (exact in float),
# one teacher row far from uniform (a logit of 6) and one with a tie
STUDENT = torch.tensor([[0.5, -1.25, 2.0, 0.0, 1.5],
                        [-0.75, 0.25, -2.0, 1.0, 0.5],
                        [3.0, -0.5, 0.75, -1.5, 0.125]])
TEACHER = torch.tensor([[1.0, -0.5, 6.0, 0.25, -1.0],
                        [0.0, 0.5, -1.5, 0.5, 2.0],
                        [-0.25, 1.75, 0.375, -2.0, 0.625]])
TEMPERATURES = [1.0, 2.0, 4.5]


def main():
    for k, T in enumerate(TEMPERATURES):
        s = STUDENT.clone().requires_grad_()
        t = TEACHER.clone().requires_grad_()
        loss = F.kl_div(F.log_softmax(s / T, -1), F.softmax(t / T, -1),
                        reduction="batchmean") * T * T
        (loss * 1.5).backward()
        c_array("KL_T%d" % k, loss)
        c_array("KL_T%d_GRAD_S" % k, s.grad)
        c_array("KL_T%d_GRAD_T" % k, t.grad)


if __name__ == "__main__":
    main()
