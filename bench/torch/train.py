"""PyTorch baseline of the train suite: the same tiny model as gpu/nn/tiny.ts (embedding -> 4 x [RMSNorm,
depthwise causal conv, residual; RMSNorm, SwiGLU, residual] -> RMSNorm -> tied head), AdamW, fp32 with TF32
off, on the GPU machine. Prints one JSON list of rows named like bench/suites/train.ts."""
import argparse
import importlib.util
import json
import os
import signal
import torch
import torch.nn as nn
import torch.nn.functional as F

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False


class RMSNorm(nn.Module):
    def __init__(self, d, eps=1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(d))
        self.eps = eps

    def forward(self, x):
        return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + self.eps) * self.weight


class Block(nn.Module):
    def __init__(self, d, hidden, kernel):
        super().__init__()
        self.conv_norm = RMSNorm(d)
        self.conv = nn.Conv1d(d, d, kernel, groups=d, padding=kernel - 1, bias=False)
        self.mlp_norm = RMSNorm(d)
        self.gate = nn.Linear(d, hidden, bias=False)
        self.up = nn.Linear(d, hidden, bias=False)
        self.down = nn.Linear(hidden, d, bias=False)

    def forward(self, x):
        t = x.shape[1]
        h = self.conv(self.conv_norm(x).transpose(1, 2))[..., :t].transpose(1, 2)
        x = x + h
        h = self.mlp_norm(x)
        return x + self.down(F.silu(self.gate(h)) * self.up(h))


class Tiny(nn.Module):
    def __init__(self, vocab, d, layers, hidden, kernel):
        super().__init__()
        self.embed = nn.Embedding(vocab, d)
        self.layers = nn.ModuleList([Block(d, hidden, kernel) for _ in range(layers)])
        self.norm = RMSNorm(d)

    def forward(self, ids):
        x = self.embed(ids)
        for layer in self.layers:
            x = layer(x)
        return self.norm(x) @ self.embed.weight.t()


class WithState(nn.Module):
    """A logits-only model in the exported models' interface: forward(ids) -> (logits, state)."""

    def __init__(self, model):
        super().__init__()
        self.model = model

    def forward(self, ids):
        return self.model(ids), None


def measure(d, layers, hidden, T, B, iters, compile_=False):
    model = WithState(Tiny(256, d, layers, hidden, 4)).to("cuda")
    ms, peak, loss = time_training(model, T, B, iters, "compile" if compile_ else "eager")
    return {
        "suite": "train",
        "name": f"tiny d={d} L={layers} T={T} B={B}" + (" (torch.compile)" if compile_ else ""),
        "ms": ms,
        "tokensPerSec": B * T * 1000 / ms,
        "peakBytes": peak,
        "note": f"PyTorch {torch.__version__} eager fp32 (TF32 off), loss {loss:.3f}",
    }


# The seven architectures of issue 11: StateLab's own PyTorch export of each resized template (model.py +
# config.json, written by bench/torch/make-train-packages.ts), trained the same way in three modes.
CONFIGS = {"small": (256, 4, 512, 16), "medium": (512, 8, 1024, 8)}


def load_package(folder):
    """StateLabForCausalLM from an exported package folder, with PyTorch's default initialization."""
    name = "statelab_bench_" + os.path.basename(folder).replace("-", "_")
    spec = importlib.util.spec_from_file_location(name, os.path.join(folder, "model.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    with open(os.path.join(folder, "config.json")) as f:
        config = json.load(f)
    return module.StateLabForCausalLM(config)


def time_training(model, T, B, iters, mode):
    """ms per AdamW step (clip 1.0) in mode eager | compile | bf16 (autocast), and the peak memory."""
    dev = "cuda"
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    forward = torch.compile(model) if mode == "compile" else model
    batches = [(torch.randint(0, 256, (B, T), device=dev), torch.randint(0, 256, (B, T), device=dev)) for _ in range(4)]

    def step(i):
        ids, tgt = batches[i % 4]
        with torch.autocast("cuda", dtype=torch.bfloat16, enabled=mode == "bf16"):
            logits, _ = forward(ids)
            loss = F.cross_entropy(logits.float().reshape(-1, logits.shape[-1]), tgt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for i in range(3):
        step(i)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for i in range(iters):
        loss = step(i)
    end.record()
    torch.cuda.synchronize()
    return start.elapsed_time(end) / iters, torch.cuda.max_memory_allocated(), loss.item()


class OverBudget(Exception):
    pass


def over_budget(signum, frame):
    raise OverBudget("over the time budget of this mode")


def measure_package(folder, budget_s):
    arch, size = os.path.basename(folder).rsplit("-", 1)
    d, layers, T, B = CONFIGS[size]
    name = f"{arch} {size} d={d} L={layers} T={T} B={B}"
    row = {"suite": "train", "name": name, "ms": None}
    times = {}
    for mode in ("eager", "compile", "bf16"):
        model = None
        # Each mode gets budget_s seconds (torch.compile of a Python loop over 1024 steps can take minutes).
        signal.signal(signal.SIGALRM, over_budget)
        signal.alarm(int(budget_s))
        try:
            torch.manual_seed(0)
            model = load_package(folder).cuda()
            # Python-loop recurrences take seconds per step at T=1024: fewer timed steps then.
            iters = 2 if size == "medium" else 5
            ms, peak, loss = time_training(model, T, B, iters, mode)
            times[mode] = ms
            if mode == "eager":
                row.update(ms=ms, tokensPerSec=B * T * 1000 / ms, peakBytes=peak, loss=loss)
        except Exception as error:  # report (no Triton, out of memory, over budget), not fail
            times[mode] = f"failed: {type(error).__name__}: {error}"[:160]
        finally:
            signal.alarm(0)
        del model
        torch.cuda.empty_cache()
    row["compileMs"] = times.get("compile")
    row["bf16Ms"] = times.get("bf16")
    fmt = lambda v: f"{v:.2f} ms" if isinstance(v, float) else str(v)
    row["note"] = (f"PyTorch {torch.__version__} eager fp32 (TF32 off) of StateLab's PyTorch export; "
                   f"torch.compile {fmt(times.get('compile'))}; bf16 autocast {fmt(times.get('bf16'))}")
    print(f"{name:44s} eager {fmt(times.get('eager'))}  compile {fmt(times.get('compile'))}  bf16 {fmt(times.get('bf16'))}",
          flush=True)
    return row


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--packages", default=".device/train-packages",
                        help="exported packages of the seven architectures (bench/torch/make-train-packages.ts)")
    parser.add_argument("--budget", type=float, default=float(os.environ.get("BENCH_BUDGET", "60")),
                        help="seconds each mode of an architecture may take (env BENCH_BUDGET)")
    args = parser.parse_args()
    rows = [measure(256, 4, 704, 512, 16, 20)]
    try:
        rows.append(measure(256, 4, 704, 512, 16, 20, compile_=True))
    except Exception as error:  # torch.compile needs a working Triton; report rather than fail
        rows.append({"suite": "train", "name": "tiny d=256 L=4 T=512 B=16 (torch.compile)", "ms": None, "note": f"failed: {error}"[:200]})
    if os.path.isdir(args.packages):
        wanted = os.environ.get("TORCH_ARCHS") or os.environ.get("BENCH_ARCHS")
        sizes = os.environ.get("BENCH_SIZES", "small,medium").split(",")
        for folder in sorted(os.listdir(args.packages)):
            arch, size = folder.rsplit("-", 1)
            if size in sizes and (not wanted or arch in wanted.split(",")):
                rows.append(measure_package(os.path.join(args.packages, folder), args.budget))
                with open(args.out, "w") as f:  # after every row: a time-out keeps what was measured
                    json.dump(rows, f, indent=2)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(json.dumps(rows, indent=2))
    print("TORCH-TRAIN-DONE")
