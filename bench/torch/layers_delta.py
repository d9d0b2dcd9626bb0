"""PyTorch baseline of the layers-delta suite (bench/suites/layers-delta.ts), same row names:
  - delta_rule / gated_delta_rule fwd+bwd: the eager fp32 naive recurrence (a Python loop over T, as
    fla's naive_recurrent_gated_delta_rule), B=8, T in {1024, 2048}, 4 heads of 128; the eager fp32
    chunked form (WY representation, chunk 64, as fla's chunk reference) is reported in the note and
    as the "fwd chunked" row; the naive forward under no_grad as the "fwd fused recurrent" row;
  - rwkv7 fwd+bwd: RWKV-7's generalized delta rule S = diag(w) S + b (a^T S) + k v^T as the same
    eager naive recurrence;
  - attention fwd+bwd / fwd: torch.nn.functional.scaled_dot_product_attention(is_causal=True), fp32;
    the window and FoX rows pass the band / bias as an explicit T x T attention mask (PyTorch has no
    fused form for them).
fp32 with TF32 off. Every configuration is checked before timing against a float64 loop on a prefix.
Timing: torch.cuda.Event, warm-up 3, median of >= 3 samples (10 for short rows).
Usage on the GPU machine: python3 bench/torch/layers_delta.py --out torch-layers-delta.json [--quick]"""
import argparse
import json
import os

import torch
import torch.nn.functional as F
from timing import strict_fp32, time_ms

strict_fp32()

CHECK_T = 48




def naive_delta_rule(q, k, v, beta, g):
    """S = exp(g) S; u = beta (v - S^T k); S += k u^T; o = S^T q K^-1/2. Layout [B, T, H, K]."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    S = q.new_zeros(B, H, K, V)
    q = q * K**-0.5
    out = []
    for t in range(T):
        if g is not None:
            S = S * g[:, t].exp()[..., None, None]
        kt = k[:, t]
        u = beta[:, t, :, None] * (v[:, t] - torch.einsum("bhkv,bhk->bhv", S, kt))
        S = S + kt[..., :, None] * u[..., None, :]
        out.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
    return torch.stack(out, 1)


def chunk_delta_rule(q, k, v, beta, g, chunk=64):
    """The WY/UT chunked form in eager PyTorch (per chunk: triangular solve, then state passing)."""
    B, T, H, K = q.shape
    V = v.shape[-1]
    pad = (-T) % chunk
    tr = lambda x: x.transpose(1, 2)  # [B, H, T, ...]
    q, k, v, beta = tr(q) * K**-0.5, tr(k), tr(v), tr(beta)
    g = tr(g) if g is not None else torch.zeros_like(beta)
    if pad:
        q, k, v = (F.pad(x, (0, 0, 0, pad)) for x in (q, k, v))
        beta, g = F.pad(beta, (0, pad)), F.pad(g, (0, pad))
    n = (T + pad) // chunk
    q, k, v = (x.reshape(B, H, n, chunk, -1) for x in (q, k, v))
    beta, g = beta.reshape(B, H, n, chunk), g.reshape(B, H, n, chunk).cumsum(-1)
    decay = (g[..., :, None] - g[..., None, :]).tril().exp().tril()
    strict = torch.ones(chunk, chunk, dtype=torch.bool, device=q.device).tril(-1)
    A = (beta[..., None] * decay * (k @ k.transpose(-1, -2))).masked_fill(~strict, 0)
    eye = torch.eye(chunk, device=q.device, dtype=q.dtype)
    Linv = torch.linalg.solve_triangular(eye + A, eye.expand_as(A), upper=False, unitriangular=True)
    W = Linv @ ((beta * g.exp())[..., None] * k)
    U = Linv @ (beta[..., None] * v)
    P = (q @ k.transpose(-1, -2)) * decay
    S = q.new_zeros(B, H, K, V)
    out = []
    for i in range(n):
        u = U[:, :, i] - W[:, :, i] @ S
        out.append(g[:, :, i, :, None].exp() * (q[:, :, i] @ S) + P[:, :, i] @ u)
        last = g[:, :, i, -1]
        S = last.exp()[..., None, None] * S + ((last[..., None] - g[:, :, i]).exp()[..., None] * k[:, :, i]).transpose(-1, -2) @ u
    o = torch.stack(out, 2).reshape(B, H, n * chunk, V)[:, :, :T]
    return o.transpose(1, 2)


def naive_dplr(q, k, v, logw, a, b):
    """RWKV-7's transition S = diag(exp(logw)) S + b (a^T S) + k v^T; o = S^T q. Layout [B, T, H, K]."""
    B, T, H, K = q.shape
    S = q.new_zeros(B, H, K, v.shape[-1])
    out = []
    for t in range(T):
        p = torch.einsum("bhk,bhkv->bhv", a[:, t], S)
        S = logw[:, t].exp()[..., None] * S + b[:, t][..., None] * p[..., None, :] + k[:, t][..., None] * v[:, t][..., None, :]
        out.append(torch.einsum("bhk,bhkv->bhv", q[:, t], S))
    return torch.stack(out, 1)


def delta_reference(q, k, v, beta, g):
    """float64 loop on batch row 0 and the first CHECK_T tokens."""
    args = [x[:1, :CHECK_T].double() if x is not None else None for x in (q, k, v, beta, g)]
    return naive_delta_rule(*args)


def attention_reference(q, k, v, mask=None):
    qs, ks, vs = (x[:1, :CHECK_T].double().transpose(1, 2) for x in (q, k, v))
    scores = qs @ ks.transpose(-1, -2) / q.shape[-1] ** 0.5
    causal = torch.ones(CHECK_T, CHECK_T, dtype=torch.bool, device=q.device).tril()
    scores = scores.masked_fill(~causal, float("-inf"))
    return (scores.softmax(-1) @ vs).transpose(1, 2)


def rel(a, b):
    return ((a.double() - b).abs().max() / b.abs().max()).item()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    dev = "cuda"
    torch.manual_seed(0)
    B, H, K = (2, 2, 16) if args.quick else (8, 4, 128)
    lengths = [64, 100] if args.quick else [1024, 2048]
    version = f"PyTorch {torch.__version__} eager fp32 (TF32 off)"
    rows = []
    attention_only = os.environ.get("BENCH_ONLY") == "attention"
    for T in lengths:
        for name, gated in [] if attention_only else [("delta_rule", False), ("gated_delta_rule", True)]:
            q = torch.randn(B, T, H, K, device=dev, requires_grad=True)
            k = F.normalize(torch.randn(B, T, H, K, device=dev), dim=-1).requires_grad_()
            v = torch.randn(B, T, H, K, device=dev, requires_grad=True)
            beta = torch.empty(B, T, H, device=dev).uniform_(0.05, 1).requires_grad_()
            g = torch.empty(B, T, H, device=dev).uniform_(-0.3, -0.01).requires_grad_() if gated else None
            inputs = [x for x in (q, k, v, beta, g) if x is not None]
            dO = torch.randn(B, T, H, K, device=dev)
            with torch.no_grad():
                ref = delta_reference(q, k, v, beta, g)
                err_naive = rel(naive_delta_rule(q, k, v, beta, g)[:1, :CHECK_T], ref)
                err_chunk = rel(chunk_delta_rule(q, k, v, beta, g)[:1, :CHECK_T], ref)
            assert err_naive < 1e-3 and err_chunk < 1e-3, f"{name} T={T}: check {err_naive} {err_chunk}"

            def train(fn):
                def step():
                    fn(q, k, v, beta, g).backward(dO)
                    for x in inputs:
                        x.grad = None
                return step

            naive_ms, naive_iters = time_ms(train(naive_delta_rule), samples=3)
            chunk_ms, _ = time_ms(train(chunk_delta_rule))
            with torch.no_grad():
                naive_fwd, _ = time_ms(lambda: naive_delta_rule(q, k, v, beta, g), samples=3)
                chunk_fwd, _ = time_ms(lambda: chunk_delta_rule(q, k, v, beta, g))
            note = f"{version}; check {err_naive:.1e}"
            rows += [
                {"suite": "layers-delta", "name": f"{name} fwd+bwd T={T}", "ms": naive_ms,
                 "tokensPerSec": B * T / (naive_ms / 1000),
                 "note": f"naive recurrence x{naive_iters}; eager chunked (WY, chunk 64): {chunk_ms:.2f} ms; {note}"},
                {"suite": "layers-delta", "name": f"{name} fwd chunked T={T}", "ms": chunk_fwd,
                 "note": f"eager chunked (WY, chunk 64) forward, no_grad; check {err_chunk:.1e}"},
                {"suite": "layers-delta", "name": f"{name} fwd fused recurrent T={T}", "ms": naive_fwd,
                 "note": "naive recurrence forward, no_grad"},
            ]
        if not attention_only:
            kappa = F.normalize(torch.randn(B, T, H, K, device=dev), dim=-1)
            alpha = torch.rand(B, T, H, K, device=dev)
            rw = {
                "q": torch.randn(B, T, H, K, device=dev),
                "k": 0.1 * torch.randn(B, T, H, K, device=dev),
                "v": torch.randn(B, T, H, K, device=dev),
                "logw": torch.empty(B, T, H, K, device=dev).uniform_(-0.6, -0.01),
                "a": -kappa,
                "b": kappa * alpha,
            }
            for x in rw.values():
                x.requires_grad_()
            dO = torch.randn(B, T, H, K, device=dev)
            with torch.no_grad():
                ref = naive_dplr(*(x[:1, :CHECK_T].double() for x in rw.values()))
                err = rel(naive_dplr(*rw.values())[:1, :CHECK_T], ref)
            assert err < 1e-3, f"rwkv7 T={T}: check {err}"

            def rwkv_step():
                naive_dplr(*rw.values()).backward(dO)
                for x in rw.values():
                    x.grad = None

            ms, iters = time_ms(rwkv_step, samples=3)
            rows.append({"suite": "layers-delta", "name": f"rwkv7 fwd+bwd T={T}", "ms": ms,
                         "tokensPerSec": B * T / (ms / 1000),
                         "note": f"naive recurrence x{iters}; {version}; check {err:.1e}"})

        q, k, v = (torch.randn(B, T, H, K, device=dev, requires_grad=True) for _ in range(3))
        dO = torch.randn(B, T, H, K, device=dev)
        tq, tk, tv = (x.transpose(1, 2) for x in (q, k, v))
        with torch.no_grad():
            err = rel(F.scaled_dot_product_attention(tq, tk, tv, is_causal=True).transpose(1, 2)[:1, :CHECK_T],
                      attention_reference(q, k, v))
        assert err < 1e-3, f"attention T={T}: check {err}"
        pos = torch.arange(T, device=dev)
        band = (pos[:, None] >= pos[None, :]) & (pos[:, None] - pos[None, :] < 256)
        logf = torch.empty(B, H, T, device=dev).uniform_(-0.05, -0.001).cumsum(-1)
        fox = (logf[..., :, None] - logf[..., None, :]).masked_fill(~(pos[:, None] >= pos[None, :]), float("-inf"))
        variants = [
            ("attention fwd+bwd", dict(is_causal=True), True),
            ("attention fwd", dict(is_causal=True), False),
            ("attention window=256 fwd+bwd", dict(attn_mask=band), True),
            ("attention fox fwd+bwd", dict(attn_mask=fox), True),
        ]
        for label, kwargs, training in variants:
            def step():
                o = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), **kwargs)
                if training:
                    o.backward(dO.transpose(1, 2))
                    for x in (q, k, v):
                        x.grad = None

            if training:
                ms, iters = time_ms(step)
            else:
                with torch.no_grad():
                    ms, iters = time_ms(step)
            rows.append({"suite": "layers-delta", "name": f"{label} T={T}", "ms": ms,
                         "tokensPerSec": B * T / (ms / 1000),
                         "note": f"scaled_dot_product_attention fp32 x{iters}"
                                 + (" with an explicit T x T mask" if "attn_mask" in kwargs else "")
                                 + f"; check {err:.1e}"})
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    for r in rows:
        print(f"{r['name']:<44} {r['ms']:.3f} ms")
    print(torch.cuda.get_device_name(), "TORCH-LAYERS-DELTA-DONE")


if __name__ == "__main__":
    main()
