"""PyTorch's layer-norm LSTM as its users write it, for bench/cells.sh: an
nn.Module cell with three nn.LayerNorm (the input and recurrent products
normalised separately over the 4H gates, the new cell before its tanh, as
Ba, Kiros and Hinton 2016 and tapegrad's tg_cell_variant layer_norm), run in
a Python loop over time (PyTorch has no fused layer-norm LSTM). The model,
shapes, optimizer and step are bench_torch.py's: embedding -> LN-LSTM ->
linear head -> cross-entropy, Adam. --script compiles the layer with
TorchScript (torch.jit.script), when this torch can. Run with Debian's
interpreter:

    /usr/bin/python3 bench/bench_torch_ln.py HIDDEN T [--script] [--threads N] [--steps N]

Prints one line of key=value figures as bench_rnn does (ms_all: every
steady step, for cells.sh to pool rounds; cpu_all: this process's CPU ms
per step)."""
import argparse
import resource
import statistics
import time
from typing import List, Tuple

import torch
from torch import Tensor, nn

VOCAB, EMBED, BATCH = 65, 64, 32


class LayerNormLSTMCell(nn.Module):
    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.weight_ih = nn.Parameter(torch.empty(4 * hidden, input_size))
        self.weight_hh = nn.Parameter(torch.empty(4 * hidden, hidden))
        self.bias_ih = nn.Parameter(torch.empty(4 * hidden))
        self.bias_hh = nn.Parameter(torch.empty(4 * hidden))
        k = hidden ** -0.5
        for p in self.parameters():
            nn.init.uniform_(p, -k, k)
        self.ln_ih = nn.LayerNorm(4 * hidden)
        self.ln_hh = nn.LayerNorm(4 * hidden)
        self.ln_c = nn.LayerNorm(hidden)

    def forward(self, x: Tensor, state: Tuple[Tensor, Tensor]) -> Tuple[Tensor, Tensor]:
        h, c = state
        gates = self.ln_ih(x @ self.weight_ih.t() + self.bias_ih) + \
            self.ln_hh(h @ self.weight_hh.t() + self.bias_hh)
        i, f, g, o = gates.chunk(4, 1)
        c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
        h = torch.sigmoid(o) * torch.tanh(self.ln_c(c))
        return h, c


class LayerNormLSTM(nn.Module):
    def __init__(self, input_size: int, hidden: int):
        super().__init__()
        self.cell = LayerNormLSTMCell(input_size, hidden)
        self.hidden = hidden

    def forward(self, x: Tensor) -> Tensor:
        h = torch.zeros(x.size(1), self.hidden)
        c = torch.zeros(x.size(1), self.hidden)
        outs: List[Tensor] = []
        for t in range(x.size(0)):
            h, c = self.cell(x[t], (h, c))
            outs.append(h)
        return torch.stack(outs)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("hidden", type=int)
    ap.add_argument("T", type=int)
    ap.add_argument("--script", action="store_true", help="torch.jit.script the layer")
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--steps", type=int, default=20)
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(1)
    emb = nn.Embedding(VOCAB, EMBED)
    rnn = LayerNormLSTM(EMBED, a.hidden)
    head = nn.Linear(a.hidden, VOCAB)
    mode = "python"
    if a.script:
        try:
            rnn = torch.jit.script(rnn)
            mode = "torchscript"
        except Exception as e:  # noqa: BLE001 - say why and stop
            print(f"torchscript=unavailable reason={type(e).__name__}")
            return 3
    params = list(emb.parameters()) + list(rnn.parameters()) + list(head.parameters())
    opt = torch.optim.Adam(params, lr=1e-3)
    ids = torch.randint(0, VOCAB, (a.T + 1, BATCH))
    warmup, times, cpus = 3, [], []
    for _ in range(a.steps + warmup):
        t0, c0 = time.perf_counter(), time.process_time()
        out = rnn(emb(ids[:-1]))
        loss = nn.functional.cross_entropy(head(out).reshape(-1, VOCAB), ids[1:].reshape(-1))
        opt.zero_grad()
        loss.backward()
        opt.step()
        times.append((time.perf_counter() - t0) * 1e3)
        cpus.append((time.process_time() - c0) * 1e3)
    steady, steady_cpu = times[warmup:], cpus[warmup:]
    med = statistics.median(steady)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"ms={med:.2f} cpu_ms={statistics.median(steady_cpu):.2f} peak_rss_mb={rss:.1f} "
          f"threads={torch.get_num_threads()} mode={mode} "
          f"ms_all={','.join(f'{x:.2f}' for x in steady)} "
          f"cpu_all={','.join(f'{x:.2f}' for x in steady_cpu)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
