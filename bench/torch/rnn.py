"""PyTorch baseline of the rnn suite (bench/suites/rnn.ts): cuDNN nn.LSTM / nn.GRU, fp32 with TF32 off,
forward + backward (input gradient included, as on our side) at B=16, T=1024, hidden 256/512/1024 — the
FlashRNN grid. Row names match ours: "lstm fwd+bwd hidden=256" is the like-for-like dense comparison;
the same cuDNN time is also emitted under our multi-head row names ("... heads=8") so the driver shows
the FlashRNN-style ratio (block-diagonal recurrence against cuDNN's dense one, as in the FlashRNN paper).
Newton-vs-sequential rows have no PyTorch counterpart (both sides are ours).
Timing: torch.cuda.Event, warm-up 3, median of 10 samples, each sample many back-to-back iterations.
Usage on the GPU machine: python3 bench/torch/rnn.py --out torch-rnn.json [--quick]"""
import argparse
import json

import torch
from timing import strict_fp32, time_ms

strict_fp32(cudnn_benchmark=True)


def check_against_loop(module, kind, x):
    """The first steps of batch row 0 against a float64 loop of the documented cell equations."""
    steps = 4
    with torch.no_grad():
        y, _ = module(x[:1, :steps])
        w_ih, w_hh = module.weight_ih_l0.double(), module.weight_hh_l0.double()
        b_ih, b_hh = module.bias_ih_l0.double(), module.bias_hh_l0.double()
        hidden = module.hidden_size
        h = torch.zeros(hidden, dtype=torch.float64, device=x.device)
        c = torch.zeros_like(h)
        ref = []
        for t in range(steps):
            gi = w_ih @ x[0, t].double() + b_ih
            gh = w_hh @ h + b_hh
            if kind == "lstm":
                i, f, g, o = (gi + gh).chunk(4)
                c = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
                h = torch.sigmoid(o) * torch.tanh(c)
            else:
                ir, iz, in_ = gi.chunk(3)
                hr, hz, hn = gh.chunk(3)
                r, z = torch.sigmoid(ir + hr), torch.sigmoid(iz + hz)
                n = torch.tanh(in_ + r * hn)
                h = (1 - z) * n + z * h
            ref.append(h)
        ref = torch.stack(ref)
        return ((y[0].double() - ref).abs().max() / ref.abs().max()).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    dev = "cuda"
    torch.manual_seed(0)
    batch, length = (2, 16) if args.quick else (16, 1024)
    hiddens = [32, 64] if args.quick else [256, 512, 1024]
    head_size = 16 if args.quick else 32
    rows = []
    for kind, cls in [("lstm", torch.nn.LSTM), ("gru", torch.nn.GRU)]:
        for hidden in hiddens:
            module = cls(hidden, hidden, batch_first=True).to(dev)
            x = torch.randn(batch, length, hidden, device=dev, requires_grad=True)
            dy = torch.randn(batch, length, hidden, device=dev)
            err = check_against_loop(module, kind, x)
            assert err < 1e-4, f"torch {kind} hidden={hidden}: relative error {err}"

            def step():
                y, _ = module(x)
                y.backward(dy)
                x.grad = None
                module.zero_grad(set_to_none=True)

            ms, iters = time_ms(step)
            gates = 4 if kind == "lstm" else 3
            flops = 3 * 2 * batch * length * gates * hidden * 2 * hidden
            note = f"PyTorch {torch.__version__} cuDNN nn.{cls.__name__} fp32 (TF32 off), x{iters}, check {err:.1e}"
            for name in [f"{kind} fwd+bwd hidden={hidden}", f"{kind} fwd+bwd hidden={hidden} heads={hidden // head_size}"]:
                rows.append({
                    "suite": "rnn",
                    "name": name,
                    "ms": ms,
                    "tflops": flops / (ms * 1e9),
                    "tokensPerSec": batch * length / (ms / 1000),
                    "note": note + ("" if "heads" not in name else "; dense cuDNN at the same hidden size"),
                })
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    for r in rows:
        print(f"{r['name']:<36} {r['ms']:.3f} ms")
    print(torch.cuda.get_device_name(), "TORCH-RNN-DONE")


if __name__ == "__main__":
    main()
