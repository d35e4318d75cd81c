"""PyTorch side of the recurrent benchmark: the same model, shapes, optimizer
and step as bench/bench_rnn.c. Run with Debian's interpreter:

    /usr/bin/python3 bench/bench_torch.py MODE HIDDEN LAYERS T [--infer] [--threads N] [--steps N]

Prints one line of key=value figures, like bench_rnn: the median and p90 of
the steps after warm-up, and every one of them (ms_all) for bench/run.sh to
pool rounds."""
import argparse
import resource
import statistics
import time

import torch

VOCAB, EMBED, BATCH = 65, 64, 32


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["lstm", "gru", "tanh"])
    ap.add_argument("hidden", type=int)
    ap.add_argument("layers", type=int)
    ap.add_argument("T", type=int)
    ap.add_argument("--infer", action="store_true")
    ap.add_argument("--threads", type=int, default=0, help="0: PyTorch's default")
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    if a.threads:
        torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    rnn_cls = {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU, "tanh": torch.nn.RNN}[a.mode]
    emb = torch.nn.Embedding(VOCAB, EMBED)
    rnn = rnn_cls(EMBED, a.hidden, num_layers=a.layers)
    head = torch.nn.Linear(a.hidden, VOCAB)
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ids = torch.randint(0, VOCAB, (a.T + 1, BATCH))
    warmup, times = 3, []
    for s in range(a.steps + warmup):
        t0 = time.perf_counter()
        with torch.set_grad_enabled(not a.infer):
            out, _ = rnn(emb(ids[:-1]))
            logits = head(out)
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, VOCAB), ids[1:].reshape(-1))
            if not a.infer:
                opt.zero_grad()
                loss.backward()
                opt.step()
        times.append((time.perf_counter() - t0) * 1e3)
    steady = times[warmup:]
    med = statistics.median(steady)
    srt = sorted(steady)
    p90 = srt[int(0.9 * (len(srt) - 1) + 0.5)]
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ms={med:.2f} tokens_per_s={a.T * BATCH / med * 1e3:.0f} peak_rss_mb={rss:.1f} "
          f"threads={torch.get_num_threads()} p90_ms={p90:.2f} "
          f"ms_all={','.join(f'{x:.2f}' for x in steady)}")


if __name__ == "__main__":
    main()
