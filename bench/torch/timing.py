"""Shared by every PyTorch baseline: strict fp32 (TF32 off) and GPU timing by the handbook's protocol
(warm-up, samples grown until they are long enough to time, median of 10 — of 3 when one call takes over
a second). On the CPU (quick smoke runs) it falls back to the host clock."""
import statistics
import time

import torch


def strict_fp32(cudnn_benchmark=False):
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = cudnn_benchmark
    torch.set_float32_matmul_precision("highest")


def time_ms(fn, device="cuda", min_sample_ms=20.0, samples=10, warmup=3):
    """Median milliseconds per call of fn, and the calls per sample."""
    for _ in range(warmup):
        fn()
    if device != "cuda":
        times = []
        for _ in range(3):
            start = time.perf_counter()
            fn()
            times.append((time.perf_counter() - start) * 1000)
        return statistics.median(times), 1
    torch.cuda.synchronize()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    iters = 1
    while True:  # grow a sample until it is long enough to time well
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        ms = start.elapsed_time(end)
        if ms >= min_sample_ms or iters >= 2000:
            break
        iters = min(2000, max(iters * 2, int(1.2 * min_sample_ms / max(ms / iters, 1e-4))))
    if ms / iters > 1000:
        samples = 3
    times = []
    for _ in range(samples):
        start.record()
        for _ in range(iters):
            fn()
        end.record()
        torch.cuda.synchronize()
        times.append(start.elapsed_time(end) / iters)
    return statistics.median(times), iters
