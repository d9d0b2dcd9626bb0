"""PyTorch baseline of the layers-matrix suite (bench/suites/layers-matrix.ts), same row names:
  - "<family> fwd+bwd T=..": the eager fp32 naive recurrence of each class-B family's core (a Python
    loop over T, as fla's naive_recurrent_* references), B=8, T in {1024, 2048}, 4 heads of 128:
    linear_attn (no decay), retnet (fixed decay 1 - 2^(-5-h)), gla and hgrn2 (per-channel decay),
    mamba2 (scalar decay, scale 1), rwkv6 (read-out before the update, bonus u), mlstm (fla's
    naive_recurrent_mlstm, stabilized), gsa (fla's naive_recurrent_gsa, 16 slots);
  - "gla fwd+bwd vs eager chunked T=..": GLA in an eager chunked form (chunk 16, the per-channel decay
    ratios exp(G_i - G_j) materialized for j <= i, so no exponent is positive);
  - "mamba2 fwd+bwd vs eager chunked T=..": the SSD form (chunk 64, stable segment sums), as
    mamba_ssm's ssd_minimal_discrete.
fp32 with TF32 off. Every configuration is checked before timing against a float64 loop on a prefix.
Timing: torch.cuda.Event, warm-up 3, median of >= 3 samples (10 for short rows).
Usage on the GPU machine: python3 bench/torch/layers_matrix.py --out torch-layers-matrix.json [--quick]
(--device cpu --quick is a smoke run of the code paths, not a measurement)."""
import argparse
import json
import math
import os

import torch
import torch.nn.functional as F
from timing import strict_fp32, time_ms

strict_fp32()

CHECK_T = 48
GSA_SLOTS = 16




# ---------------------------------------------------------------- naive recurrences ([B, T, H, .] layouts)


def naive_gla(q, k, v, g, scale):
    """S = diag(exp g_t) S + k_t v_t^T; o_t = scale S^T q_t. g: [B,T,H,K], [B,T,H] or None."""
    B, T, H, K = q.shape
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for t in range(T):
        if g is not None:
            decay = g[:, t].exp()
            S = S * (decay[..., None] if g.dim() == 4 else decay[..., None, None])
        S = S + k[:, t, :, :, None] * v[:, t, :, None, :]
        out.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]) * scale)
    return torch.stack(out, 1)


def naive_rwkv6(r, k, v, logw, u):
    """o_t = r_t^T (S + diag(u) k_t v_t^T); S = diag(exp logw_t) S + k_t v_t^T (scale 1)."""
    B, T, H, K = r.shape
    S = r.new_zeros(B, H, K, v.shape[-1])
    out = []
    for t in range(T):
        kv = k[:, t, :, :, None] * v[:, t, :, None, :]
        out.append(torch.einsum("bhk,bhkv->bhv", r[:, t], S + u[None, :, :, None] * kv))
        S = logw[:, t].exp()[..., None] * S + kv
    return torch.stack(out, 1)


def naive_mlstm(q, k, v, ig, logf, eps=1e-6):
    """fla's naive_recurrent_mlstm (m detached) with log forget gates given, from m = -inf."""
    B, T, H, K = q.shape
    C = q.new_zeros(B, H, K, v.shape[-1])
    n = q.new_zeros(B, H, K)
    m = q.new_full((B, H), float("-inf"))
    out = []
    for t in range(T):
        log_f = m + logf[:, t]
        m = torch.maximum(log_f, ig[:, t]).detach()
        i_gate = torch.exp(ig[:, t] - m)[..., None]
        f_gate = torch.exp(log_f - m)[..., None]
        kt = k[:, t] * K**-0.5
        C = f_gate[..., None] * C + (i_gate * kt)[..., None] * v[:, t, :, None, :]
        n = f_gate * n + i_gate * kt
        z = (n * q[:, t]).sum(-1, keepdim=True)
        denominator = torch.maximum(z.abs(), torch.exp(-m)[..., None] + eps)
        out.append(torch.einsum("bhkv,bhk->bhv", C, q[:, t]) / denominator)
    return torch.stack(out, 1)


def naive_gsa(q, k, v, f):
    """fla's naive_recurrent_gsa (scale 1): slots decayed by exp(f), written with s = 1 - exp(f)."""
    B, T, H, K = q.shape
    M = f.shape[-1]
    s = -torch.expm1(f)
    hk = q.new_zeros(B, H, K, M)
    hv = q.new_zeros(B, H, M, v.shape[-1])
    out = []
    for t in range(T):
        a = f[:, t].exp()
        hk = hk * a[:, :, None, :] + k[:, t, :, :, None] * s[:, t, :, None, :]
        p = torch.einsum("bhk,bhkm->bhm", q[:, t], hk).softmax(-1)
        hv = hv * a[..., None] + s[:, t, :, :, None] * v[:, t, :, None, :]
        out.append(torch.einsum("bhm,bhmv->bhv", p, hv))
    return torch.stack(out, 1)


# ---------------------------------------------------------------- eager chunked forms


def _chunks(x, chunk):
    """[B, T, H, ...] -> [B, H, n, chunk, ...] (zero-padded; padded tokens have g = 0, k = v = q = 0)."""
    x = x.transpose(1, 2)
    T = x.shape[2]
    pad = (-T) % chunk
    if pad:
        x = F.pad(x, (0, 0) * (x.dim() - 3) + (0, pad))
    return x.reshape(*x.shape[:2], -1, chunk, *x.shape[3:])


def chunk_gla(q, k, v, g, scale, chunk=16):
    """GLA, chunkwise: intra-chunk scores with the per-channel ratios exp(G_i - G_j) (j <= i) and
    inter-chunk state passing; every exponent is <= 0."""
    B, T, H, K = q.shape
    qc, kc, vc, gc = (_chunks(x, chunk) for x in (q, k, v, g))
    G = gc.cumsum(3)
    causal = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    diff = (G[..., :, None, :] - G[..., None, :, :]).masked_fill(~causal[..., None], float("-inf"))
    A = (qc[..., :, None, :] * kc[..., None, :, :] * diff.exp()).sum(-1)
    intra = A @ vc
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for i in range(qc.shape[2]):
        out.append(intra[:, :, i] + (qc[:, :, i] * G[:, :, i].exp()) @ S)
        last = G[:, :, i, -1]
        S = last.exp()[..., None] * S + (kc[:, :, i] * (last[:, :, None] - G[:, :, i]).exp()).transpose(-1, -2) @ vc[:, :, i]
    o = torch.stack(out, 2).flatten(2, 3)[:, :, :T]
    return scale * o.transpose(1, 2)


def chunk_ssd(q, k, v, g, scale, chunk=64):
    """Simple GLA / Mamba-2 SSD, chunkwise with the stable segment sum exp(G_i - G_j) (j <= i)."""
    B, T, H, K = q.shape
    qc, kc, vc, gc = (_chunks(x, chunk) for x in (q, k, v, g))
    G = gc.cumsum(-1)
    causal = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril()
    L = (G[..., :, None] - G[..., None, :]).masked_fill(~causal, float("-inf")).exp()
    intra = ((qc @ kc.transpose(-1, -2)) * L) @ vc
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for i in range(qc.shape[2]):
        out.append(intra[:, :, i] + G[:, :, i, :, None].exp() * (qc[:, :, i] @ S))
        last = G[:, :, i, -1]
        S = last.exp()[..., None, None] * S + ((last[..., None] - G[:, :, i]).exp()[..., None] * kc[:, :, i]).transpose(-1, -2) @ vc[:, :, i]
    o = torch.stack(out, 2).flatten(2, 3)[:, :, :T]
    return scale * o.transpose(1, 2)


# ---------------------------------------------------------------- families


def inputs_for(family, B, T, H, K, dev):
    r = lambda *s: torch.randn(*s, device=dev)
    u = lambda lo, hi, *s: torch.empty(*s, device=dev).uniform_(lo, hi)
    if family == "retnet":
        g = torch.tensor([math.log(1 - 2 ** (-5 - h)) for h in range(H)], device=dev).expand(B, T, H).contiguous()
        return {"q": r(B, T, H, K), "k": r(B, T, H, K), "v": r(B, T, H, K), "g": g}
    if family in ("gla", "hgrn2"):
        g = u(-0.3, -0.01, B, T, H, K)
        k = -torch.expm1(g) if family == "hgrn2" else r(B, T, H, K)
        return {"q": r(B, T, H, K), "k": k, "v": r(B, T, H, K), "g": g}
    if family == "mamba2":
        return {"q": r(B, T, H, K), "k": r(B, T, H, K), "v": r(B, T, H, K), "g": u(-0.3, -0.01, B, T, H)}
    if family == "rwkv6":
        return {"r": r(B, T, H, K), "k": r(B, T, H, K), "v": r(B, T, H, K), "logw": u(-0.6, -0.01, B, T, H, K),
                "u": 0.5 * r(H, K)}
    if family == "mlstm":
        return {"q": r(B, T, H, K), "k": r(B, T, H, K), "v": r(B, T, H, K), "ig": r(B, T, H),
                "logf": F.logsigmoid(u(1, 6, B, T, H))}
    if family == "gsa":
        return {"q": 0.3 * r(B, T, H, K), "k": 0.3 * r(B, T, H, K), "v": r(B, T, H, K),
                "f": u(-0.3, -0.01, B, T, H, GSA_SLOTS)}
    return {"q": r(B, T, H, K), "k": r(B, T, H, K), "v": r(B, T, H, K)}


def naive_for(family, K):
    if family == "rwkv6":
        return lambda x: naive_rwkv6(x["r"], x["k"], x["v"], x["logw"], x["u"])
    if family == "mlstm":
        return lambda x: naive_mlstm(x["q"], x["k"], x["v"], x["ig"], x["logf"])
    if family == "gsa":
        return lambda x: naive_gsa(x["q"], x["k"], x["v"], x["f"])
    scale = 1.0 if family == "mamba2" else K**-0.5
    return lambda x: naive_gla(x["q"], x["k"], x["v"], x.get("g"), scale)


CHUNKED = {
    "gla": lambda x, K: chunk_gla(x["q"], x["k"], x["v"], x["g"], K**-0.5),
    "mamba2": lambda x, K: chunk_ssd(x["q"], x["k"], x["v"], x["g"], 1.0),
}

FAMILIES = ["linear_attn", "retnet", "gla", "hgrn2", "mamba2", "rwkv6", "mlstm", "gsa"]


def rel(a, b):
    return ((a.double() - b).abs().max() / b.abs().max()).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--device", default="cuda")
    args = parser.parse_args()
    dev = args.device
    torch.manual_seed(0)
    B, H, K = (2, 2, 16) if args.quick else (8, 4, 128)
    lengths = [64, 100] if args.quick else [1024, 2048]
    version = f"PyTorch {torch.__version__} eager fp32 (TF32 off)"
    rows = []
    for T in lengths:
        only = os.environ.get("BENCH_FAMILIES")
        for family in [f for f in FAMILIES if not only or f in only.split(",")]:
            x = inputs_for(family, B, T, H, K, dev)
            for name, t in x.items():
                if name != "g" or family != "retnet":
                    t.requires_grad_()
            naive = naive_for(family, K)
            dO = torch.randn(B, T, H, K, device=dev)
            with torch.no_grad():
                prefix = {n: (t if t.dim() == 2 else t[:1, :CHECK_T]).double() for n, t in x.items()}
                ref = naive(prefix)
                err = rel(naive(x)[:1, :CHECK_T], ref)
                chunked = CHUNKED.get(family)
                err_chunk = rel(chunked(x, K)[:1, :CHECK_T], ref) if chunked else 0.0
            assert err < 1e-3 and err_chunk < 1e-3, f"{family} T={T}: check {err} {err_chunk}"
            grads = [t for t in x.values() if t.requires_grad]

            def train(fn):
                def step():
                    fn(x).backward(dO)
                    for t in grads:
                        t.grad = None
                return step

            naive_ms, naive_iters = time_ms(train(naive), dev, samples=3)
            rows.append({"suite": "layers-matrix", "name": f"{family} fwd+bwd T={T}", "ms": naive_ms,
                         "tokensPerSec": B * T / (naive_ms / 1000),
                         "note": f"naive recurrence x{naive_iters}; {version}; check {err:.1e}"})
            if chunked:
                chunk_ms, chunk_iters = time_ms(train(lambda y: chunked(y, K)), dev)
                rows.append({"suite": "layers-matrix", "name": f"{family} fwd+bwd vs eager chunked T={T}",
                             "ms": chunk_ms, "tokensPerSec": B * T / (chunk_ms / 1000),
                             "note": f"eager chunked x{chunk_iters}; {version}; check {err_chunk:.1e}"})
            print(f"{family} T={T}: naive {naive_ms:.2f} ms" + (f", chunked {chunk_ms:.2f} ms" if chunked else ""),
                  flush=True)
            del x, dO, grads
    with open(args.out, "w") as f:
        json.dump({"suite": "layers-matrix", "device": torch.cuda.get_device_name() if dev == "cuda" else dev,
                   "torch": torch.__version__, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
