"""PyTorch baseline of the decode suite: the same short-conv/SwiGLU byte-level model as bench/suites/decode.ts
(the `Tiny` model of train.py: embedding -> L x [RMSNorm, depthwise causal conv K=4, residual; RMSNorm, SwiGLU,
residual] -> RMSNorm -> tied head), decoded greedily one token at a time with the conv state carried, fp32
with TF32 off. The prompt (64 tokens) is absorbed by the same step loop, untimed; then 256 tokens are timed
with CUDA events. Rows named like the WebGPU side use PyTorch's best case: the argmax feeds the next step on
the GPU and the host never waits inside the loop. The "(host sync per token)" rows read each token back to
the host as a streaming UI must (`.tolist()` per step). Prints one JSON list of rows."""
import argparse, json, math
import torch
import torch.nn.functional as F

from train import Tiny  # the one PyTorch definition of the model, shared with the train baseline

torch.backends.cuda.matmul.allow_tf32 = False
torch.backends.cudnn.allow_tf32 = False

VOCAB, KERNEL, PROMPT = 256, 4, 64


def mlp_hidden(d):
    # The graph's SwiGLU width: 8/3 d rounded up to a multiple of 32 (gpu/graph/builtin-nodes.ts).
    return math.ceil(8 * d / 3 / 32) * 32


@torch.no_grad()
def step(model, ids, states):
    """One token per row: ids [B] -> logits [B, V]; states[i] [B, K-1, d] is layer i's conv window, updated in place."""
    x = model.embed(ids)
    for layer, state in zip(model.layers, states):
        window = torch.cat([state, layer.conv_norm(x)[:, None]], 1)  # [B, K, d], oldest first
        x = x + (window * layer.conv.weight[:, 0, :].t()[None]).sum(1)
        state.copy_(window[:, 1:])
        h = layer.mlp_norm(x)
        x = x + layer.down(F.silu(layer.gate(h)) * layer.up(h))
    return model.norm(x) @ model.embed.weight.t()


@torch.no_grad()
def check_error(model, B, device):
    """Step-by-step logits against one parallel forward over the same tokens (relative error)."""
    T = 16
    ids = torch.randint(0, VOCAB, (B, T), device=device)
    parallel = model(ids)
    states = [torch.zeros(B, KERNEL - 1, model.embed.weight.shape[1], device=device) for _ in model.layers]
    stepped = torch.stack([step(model, ids[:, t], states) for t in range(T)], 1)
    return ((stepped - parallel).abs().max() / parallel.abs().max()).item()


@torch.no_grad()
def measure(d, layers, B, tokens, repeats, device, host_sync=False):
    torch.manual_seed(0)
    model = Tiny(VOCAB, d, layers, mlp_hidden(d), KERNEL).to(device).eval()
    error = check_error(model, B, device)
    if not error < 1e-3:
        raise RuntimeError(f"decode baseline: step logits differ from the parallel form ({error})")

    def decode(n):
        states = [torch.zeros(B, KERNEL - 1, d, device=device) for _ in range(layers)]
        prompt = torch.randint(32, 127, (B, PROMPT), device=device)
        for t in range(PROMPT - 1):
            step(model, prompt[:, t], states)
        ids = prompt[:, -1]
        if device == "cuda":
            torch.cuda.synchronize()
            start, end = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            start.record()
        out = []
        for _ in range(n):
            ids = step(model, ids, states).argmax(-1)
            if host_sync:
                out.append(ids.tolist())
        if device == "cuda":
            end.record()
            torch.cuda.synchronize()
            return start.elapsed_time(end) / n
        return float("nan")  # CPU smoke runs check the code path only

    decode(8)  # warm-up
    if device == "cuda":
        torch.cuda.reset_peak_memory_stats()
    samples = sorted(decode(tokens) for _ in range(repeats))
    ms = samples[len(samples) // 2]
    return {
        "suite": "decode",
        "name": f"decode short-conv d={d} L={layers} B={B}" + (" (host sync per token)" if host_sync else ""),
        "ms": ms if ms == ms else None,
        "tokensPerSec": B * 1000 / ms if ms == ms else None,
        "checkError": error,
        "peakBytes": torch.cuda.max_memory_allocated() if device == "cuda" else None,
        "note": f"PyTorch {torch.__version__} eager fp32 (TF32 off), greedy step loop, median of {repeats} x {tokens} tokens",
    }


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: a smoke run of the code path")
    args = parser.parse_args()
    if args.quick:
        grid, tokens, repeats = [(32, 2, 1), (32, 2, 4)], 8, 1
    else:
        grid, tokens, repeats = [(d, L, B) for d, L in [(256, 4), (512, 8)] for B in [1, 16]], 256, 5
    rows = [measure(d, L, B, tokens, repeats, args.device) for d, L, B in grid]
    rows += [measure(d, L, B, tokens, repeats, args.device, host_sync=True) for d, L, B in grid]
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(json.dumps(rows, indent=2))
    print("TORCH-DECODE-DONE")
