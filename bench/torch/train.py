"""PyTorch baseline of the train suite: the same tiny model as gpu/nn/tiny.ts (embedding -> 4 x [RMSNorm,
depthwise causal conv, residual; RMSNorm, SwiGLU, residual] -> RMSNorm -> tied head), AdamW, fp32 with TF32
off, on the GPU machine. Prints one JSON list of rows named like bench/suites/train.ts."""
import argparse, json
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


def measure(d, layers, hidden, T, B, iters, compile_=False):
    dev = "cuda"
    model = Tiny(256, d, layers, hidden, 4).to(dev)
    opt = torch.optim.AdamW(model.parameters(), lr=1e-3, betas=(0.9, 0.95), weight_decay=0.1)
    step_model = torch.compile(model) if compile_ else model
    batches = [(torch.randint(0, 256, (B, T), device=dev), torch.randint(0, 256, (B, T), device=dev)) for _ in range(4)]

    def step(i):
        ids, tgt = batches[i % 4]
        loss = F.cross_entropy(step_model(ids).reshape(-1, 256), tgt.reshape(-1))
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        opt.zero_grad(set_to_none=True)
        return loss

    for i in range(5):
        step(i)
    torch.cuda.synchronize()
    torch.cuda.reset_peak_memory_stats()
    start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    start.record()
    for i in range(iters):
        loss = step(i)
    end.record()
    torch.cuda.synchronize()
    ms = start.elapsed_time(end) / iters
    return {
        "suite": "train",
        "name": f"tiny d={d} L={layers} T={T} B={B}" + (" (torch.compile)" if compile_ else ""),
        "ms": ms,
        "tokensPerSec": B * T * 1000 / ms,
        "peakBytes": torch.cuda.max_memory_allocated(),
        "note": f"PyTorch {torch.__version__} eager fp32 (TF32 off), loss {loss.item():.3f}",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    args = parser.parse_args()
    rows = [measure(256, 4, 704, 512, 16, 20)]
    try:
        rows.append(measure(256, 4, 704, 512, 16, 20, compile_=True))
    except Exception as error:  # torch.compile needs a working Triton; report rather than fail
        rows.append({"suite": "train", "name": "tiny d=256 L=4 T=512 B=16 (torch.compile)", "ms": None, "note": f"failed: {error}"[:200]})
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(json.dumps(rows, indent=2))
    print("TORCH-TRAIN-DONE")
