"""PyTorch baseline of the ops suite (bench/suites/ops.ts): the same rows, same names, fp32 with TF32 off,
timed with torch.cuda.Event (warm-up 3, median of 10 samples, each sample many back-to-back iterations).
Usage on the GPU machine: python3 bench/torch/ops.py --out torch.json [--quick]"""
import argparse
import json

import torch
import torch.nn.functional as F
from timing import strict_fp32, time_ms

strict_fp32()


def row(name, ms, iters, flops=None, min_bytes=None, note=""):
    r = {"suite": "ops", "name": name, "ms": ms, "note": f"PyTorch {torch.__version__} eager fp32 (TF32 off), ×{iters} {note}".strip()}
    if flops:
        r["tflops"] = flops / (ms * 1e9)
    if min_bytes:
        r["gbPerSec"] = min_bytes / (ms * 1e6)
    return r


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    dev = "cuda"
    g = torch.Generator(device=dev).manual_seed(0)
    rand = lambda *shape: torch.rand(*shape, device=dev, generator=g) * 2 - 1  # noqa: E731
    rows = []
    for s in [64, 96] if args.quick else [1024, 2048, 4096]:
        a, b = rand(s, s), rand(s, s)
        ref = a.double() @ b.double()
        err = ((a @ b).double() - ref).abs().max().item() / ref.abs().max().item()
        assert err < 1e-4, f"torch matmul {s}: relative error {err}"
        ms, it = time_ms(lambda: a @ b)
        rows.append(row(f"matmul {s}", ms, it, flops=2 * s**3, note=f"check {err:.1e}"))
    bb, bm, bk = (4, 32, 16) if args.quick else (32, 512, 128)
    a, b = rand(bb, bm, bk), rand(bb, bk, bm)
    ms, it = time_ms(lambda: torch.bmm(a, b))
    rows.append(row(f"bmm {bb}x{bm}x{bk}x{bm}", ms, it, flops=2 * bb * bm * bm * bk))
    n = 128 if args.quick else 4096
    x, w = rand(1, n), rand(n, n)
    ms, it = time_ms(lambda: F.linear(x, w))
    rows.append(row(f"linear 1x{n}->{n}", ms, it, flops=2 * n * n, min_bytes=4 * (n * n + 2 * n)))
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    for r in rows:
        print(f"{r['name']:<24} {r['ms']:.4f} ms  {r.get('tflops', 0):.2f} TFLOP/s")
    print(torch.cuda.get_device_name(), "TORCH-OPS-DONE")


if __name__ == "__main__":
    main()
