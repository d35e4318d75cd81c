"""PyTorch side of bench/bench_sample.sh: the loop `tapegrad sample` runs, at
batch 1, on the demo's model shapes (embedding 32 -> LSTM 256 -> linear over
the vocabulary): feed the primer, then draw each next character from
softmax(z / T) and feed it back. Weights are random: speed does not depend
on them. Run with Debian's interpreter:

    /usr/bin/python3 bench/bench_torch_sample.py VOCAB LENGTH [--threads N]

Prints chars_per_s (generated characters over the loop's wall time, the
model built and the primer fed before the clock starts) and threads."""
import argparse
import time

import torch

EMBED, HIDDEN, TEMPERATURE, PRIME = 32, 256, 0.7, 9  # the demo's spec


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("vocab", type=int)
    ap.add_argument("length", type=int)
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    emb = torch.nn.Embedding(a.vocab, EMBED)
    lstm = torch.nn.LSTM(EMBED, HIDDEN)
    head = torch.nn.Linear(HIDDEN, a.vocab)
    with torch.no_grad():
        state = None
        for i in range(PRIME):
            out, state = lstm(emb(torch.tensor([[i % a.vocab]])), state)
        t0 = time.perf_counter()
        for _ in range(a.length):
            p = torch.softmax(head(out[0, 0]) / TEMPERATURE, 0)
            tok = torch.multinomial(p, 1)
            out, state = lstm(emb(tok.view(1, 1)), state)
        dt = time.perf_counter() - t0
    print(f"chars_per_s={a.length / dt:.0f} threads={torch.get_num_threads()}")


if __name__ == "__main__":
    main()
