"""PyTorch baseline of the layers-diagonal suite (bench/suites/layers-diagonal.ts): forward + backward of
each class-A mixer alone, eager fp32 (TF32 off), B=8, T in {1024, 2048}, d=512, same row names
("mingru fwd+bwd T=1024"). Each layer is written from its reference's equations:
  - mingru / minlstm: the reference's log-space (Heinsen) parallel scan, cumsum + logcumsumexp
    (lucidrains/minGRU-pytorch) -- the reference's own training form, stronger than a Python loop;
  - hgrn, hawk, lru, mamba: the naive recurrence, a Python loop over T (fla naive_recurrent_hgrn,
    recurrentgemma rnn_scan, minimal-LRU's recurrence, mamba selective_scan_ref);
  - s4d: the naive recurrence of the ZOH-discretized diagonal SSM (row "s4d fwd+bwd"), and as an extra
    row the reference's FFT convolution (row "s4d fft fwd+bwd", no WebGPU counterpart).
Options match the WebGPU side: hawk 4 heads, lru N=64, s4d N=16, mamba N=16 expand 2.
Timing: torch.cuda.Event, warm-up 3, median of 10 samples, each sample many back-to-back iterations.
Usage on the GPU machine: python3 bench/torch/layers_diagonal.py --out torch-layers-diagonal.json [--quick]"""
import argparse
import json
import math

import torch
import torch.nn.functional as F
from timing import strict_fp32, time_ms

strict_fp32()


def param(*shape, std=None, value=None, dev="cuda"):
    if value is not None:
        t = torch.full(shape, float(value), device=dev)
    else:
        t = torch.randn(*shape, device=dev) * (std if std is not None else 1.0 / math.sqrt(shape[-1]))
    return t.requires_grad_()


# ---------------------------------------------------------------- minGRU / minLSTM (log-space scan)


def g(x):
    return torch.where(x >= 0, x + 0.5, x.sigmoid())


def log_g(x):
    return torch.where(x >= 0, (F.relu(x) + 0.5).log(), -F.softplus(-x))


def heinsen(log_coeffs, log_values):
    a_star = log_coeffs.cumsum(dim=1)
    return (a_star + (log_values - a_star).logcumsumexp(dim=1)).exp()


def make_mingru(d, dev):
    w = param(2 * d, d)

    def forward(x):
        hidden, gate = F.linear(x, w).chunk(2, dim=-1)
        return heinsen(-F.softplus(gate), -F.softplus(-gate) + log_g(hidden))

    def loop(x):  # the linear-space recurrence, for the check
        hidden, gate = F.linear(x, w).chunk(2, dim=-1)
        z, h, out = gate.sigmoid(), torch.zeros_like(hidden[:, 0]), []
        for t in range(x.shape[1]):
            h = (1 - z[:, t]) * h + z[:, t] * g(hidden[:, t])
            out.append(h)
        return torch.stack(out, 1)

    return forward, [w], loop


def make_minlstm(d, dev):
    w = param(3 * d, d)

    def forward(x):
        hidden, f, i = F.linear(x, w).chunk(3, dim=-1)
        diff = F.softplus(-f) - F.softplus(-i)
        return heinsen(-F.softplus(diff), -F.softplus(-diff) + log_g(hidden))

    def loop(x):
        hidden, f, i = F.linear(x, w).chunk(3, dim=-1)
        f, i, h, out = f.sigmoid(), i.sigmoid(), torch.zeros_like(hidden[:, 0]), []
        for t in range(x.shape[1]):
            h = f[:, t] / (f[:, t] + i[:, t]) * h + i[:, t] / (f[:, t] + i[:, t]) * g(hidden[:, t])
            out.append(h)
        return torch.stack(out, 1)

    return forward, [w], loop


# ---------------------------------------------------------------- HGRN (fla naive recurrence)


def rms_norm(x, weight, eps):
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def make_hgrn(d, dev):
    wi, wf, wg, wo = (param(d, d, std=0.02) for _ in range(4))
    norm = param(d, value=1.0)

    def forward(x):
        f = F.logsigmoid(F.linear(x, wf))
        i = F.silu(F.linear(x, wi)) * (1 - f.exp())
        h, out = torch.zeros_like(i[:, 0]), []
        for t in range(x.shape[1]):
            h = f[:, t].exp() * h + i[:, t]
            out.append(h)
        o = torch.stack(out, 1)
        return F.linear(rms_norm(o, norm, 1e-5) * F.silu(F.linear(x, wg)), wo)

    return forward, [wi, wf, wg, wo, norm], None


# ---------------------------------------------------------------- Hawk recurrent block (recurrentgemma)


def make_hawk(d, dev, heads=4, taps=4):
    wy, wx, wout = param(d, d), param(d, d), param(d, d)
    by, bx, bout = (param(d, value=0.0) for _ in range(3))
    conv_w, conv_b = param(d, 1, taps, std=math.sqrt(0.01 / taps)), param(d, value=0.0)
    bw = d // heads
    gx_w, ga_w = param(heads, bw, bw), param(heads, bw, bw)
    gx_b, ga_b = param(heads, bw, value=0.0), param(heads, bw, value=0.0)
    a_param = torch.empty(d, device=dev).uniform_(0.9**2, 0.999**2).log_().mul_(0.5)
    a_param = a_param.neg_().exp_().sub_(1.0).log_().requires_grad_()

    def block_diag(u, w, b):
        y = torch.einsum("...hi,hij->...hj", u.unflatten(-1, (heads, bw)), w) + b
        return y.flatten(-2)

    def forward(x):
        y = F.gelu(F.linear(x, wy, by), approximate="tanh")
        u = F.linear(x, wx, bx)
        u = F.conv1d(u.transpose(1, 2), conv_w, conv_b, padding=taps - 1, groups=d)[..., : x.shape[1]].transpose(1, 2)
        gate_x = torch.sigmoid(block_diag(u, gx_w, gx_b))
        gate_a = torch.sigmoid(block_diag(u, ga_w, ga_b))
        log_a = -8.0 * gate_a * F.softplus(a_param)
        a, multiplier = log_a.exp(), torch.sqrt(1 - (2 * log_a).exp())
        reset = torch.zeros(x.shape[1], 1, device=dev)
        reset[0] = 1.0
        a = a * (1 - reset)
        multiplier = reset + (1 - reset) * multiplier
        normalized = u * gate_x * multiplier
        h, out = torch.zeros_like(u[:, 0]), []
        for t in range(x.shape[1]):
            h = a[:, t] * h + normalized[:, t]
            out.append(h)
        return F.linear(torch.stack(out, 1) * y, wout, bout)

    return forward, [wy, wx, wout, by, bx, bout, conv_w, conv_b, gx_w, ga_w, gx_b, ga_b, a_param], None


# ---------------------------------------------------------------- LRU (minimal-LRU recurrence)


def make_lru(d, dev, n=64, r_min=0.9, r_max=0.999, max_phase=6.283):
    u1, u2 = torch.rand(n, device=dev), torch.rand(n, device=dev)
    nu_log = torch.log(-0.5 * torch.log(u1 * (r_max**2 - r_min**2) + r_min**2)).requires_grad_()
    theta_log = torch.log(max_phase * u2).requires_grad_()
    gamma_log = (0.5 * torch.log(1 - torch.exp(-2 * nu_log.detach().exp()))).requires_grad_()
    b_re, b_im = param(n, d, std=1 / math.sqrt(2 * d)), param(n, d, std=1 / math.sqrt(2 * d))
    c_re, c_im = param(d, n, std=1 / math.sqrt(n)), param(d, n, std=1 / math.sqrt(n))
    skip = param(d, std=1.0)

    def forward(x):
        lam = torch.exp(torch.complex(-nu_log.exp(), theta_log.exp()))
        b_norm = torch.complex(b_re, b_im) * gamma_log.exp()[:, None]
        bu = torch.complex(x, torch.zeros_like(x)) @ b_norm.transpose(0, 1)
        h, out = torch.zeros_like(bu[:, 0]), []
        for t in range(x.shape[1]):
            h = lam * h + bu[:, t]
            out.append(h)
        states = torch.stack(out, 1)
        return (states @ torch.complex(c_re, c_im).transpose(0, 1)).real + skip * x

    return forward, [nu_log, theta_log, gamma_log, b_re, b_im, c_re, c_im, skip], None


# ---------------------------------------------------------------- S4D (recurrent view, and the reference's FFT)


def make_s4d(d, dev, n=16, use_fft=False):
    modes = n // 2
    log_dt = (torch.rand(d, device=dev) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).requires_grad_()
    c = param(d, modes, 2, std=math.sqrt(0.5))
    log_a_real = torch.log(0.5 * torch.ones(d, modes, device=dev)).requires_grad_()
    a_imag = (math.pi * torch.arange(modes, device=dev)).repeat(d, 1).requires_grad_()
    skip = param(d, std=1.0)
    w_out, b_out = param(2 * d, d), param(2 * d, std=1 / math.sqrt(d))

    def forward(x):
        length = x.shape[1]
        dt = log_dt.exp()
        a = torch.complex(-log_a_real.exp(), a_imag)
        dta = a * dt[:, None]
        c_prime = torch.view_as_complex(c) * (dta.exp() - 1.0) / a
        if use_fft:
            k = 2 * torch.einsum("hn,hnl->hl", c_prime, torch.exp(dta[..., None] * torch.arange(length, device=dev))).real
            u = x.transpose(1, 2)
            y = torch.fft.irfft(torch.fft.rfft(u, n=2 * length) * torch.fft.rfft(k, n=2 * length), n=2 * length)[..., :length]
            y = y.transpose(1, 2)
        else:
            lam = dta.exp()
            s, out = torch.zeros(x.shape[0], d, modes, dtype=lam.dtype, device=dev), []
            for t in range(length):
                s = lam * s + x[:, t, :, None]
                out.append(2 * (c_prime * s).sum(-1).real)
            y = torch.stack(out, 1)
        z = F.linear(F.gelu(y + skip * x), w_out, b_out)
        return z[..., :d] * torch.sigmoid(z[..., d:])

    return forward, [log_dt, c, log_a_real, a_imag, skip, w_out, b_out], None


# ---------------------------------------------------------------- Mamba-1 block (selective_scan_ref)


def make_mamba(d, dev, n=16, expand=2, taps=4):
    di, rank = expand * d, math.ceil(d / 16)
    w_in, w_x, w_out = param(2 * di, d), param(rank + 2 * n, di), param(d, di)
    conv_w, conv_b = param(di, 1, taps, std=1 / math.sqrt(taps)), param(di, std=1 / math.sqrt(taps))
    w_dt = (torch.rand(di, rank, device=dev) * 2 - 1).mul_(rank**-0.5).requires_grad_()
    dt = torch.exp(torch.rand(di, device=dev) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).clamp(min=1e-4)
    b_dt = (dt + torch.log(-torch.expm1(-dt))).requires_grad_()
    a_log = torch.log(torch.arange(1, n + 1, dtype=torch.float32, device=dev)).repeat(di, 1).requires_grad_()
    skip = param(di, value=1.0)

    def forward(x):
        length = x.shape[1]
        xi, z = F.linear(x, w_in).chunk(2, dim=-1)
        u = F.conv1d(xi.transpose(1, 2), conv_w, conv_b, padding=taps - 1, groups=di)[..., :length].transpose(1, 2)
        u = F.silu(u)
        dt_low, bm, cm = F.linear(u, w_x).split([rank, n, n], dim=-1)
        delta = F.softplus(F.linear(dt_low, w_dt) + b_dt)
        a = -torch.exp(a_log)
        delta_a = torch.exp(torch.einsum("btd,dn->btdn", delta, a))
        delta_bu = torch.einsum("btd,btn,btd->btdn", delta, bm, u)
        h, out = torch.zeros(x.shape[0], di, n, device=dev), []
        for t in range(length):
            h = delta_a[:, t] * h + delta_bu[:, t]
            out.append(torch.einsum("bdn,bn->bd", h, cm[:, t]))
        y = torch.stack(out, 1) + u * skip
        return F.linear(y * F.silu(z), w_out)

    return forward, [w_in, w_x, w_out, conv_w, conv_b, w_dt, b_dt, a_log, skip], None


# ---------------------------------------------------------------- driver

FAMILIES = [
    ("mingru", make_mingru, "log-space Heinsen scan (cumsum + logcumsumexp), as lucidrains/minGRU-pytorch"),
    ("minlstm", make_minlstm, "log-space Heinsen scan (cumsum + logcumsumexp), as lucidrains/minGRU-pytorch"),
    ("hgrn", make_hgrn, "naive recurrence (Python loop over T), as fla naive_recurrent_hgrn"),
    ("hawk", make_hawk, "recurrentgemma RecurrentBlock, rnn_scan Python loop over T"),
    ("lru", make_lru, "complex recurrence, Python loop over T (minimal-LRU equations)"),
    ("s4d", make_s4d, "ZOH diagonal SSM recurrence, Python loop over T"),
    ("s4d fft", lambda d, dev: make_s4d(d, dev, use_fft=True), "reference s4d.py FFT convolution"),
    ("mamba", make_mamba, "mamba_simple block with selective_scan_ref (Python loop over T)"),
]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", required=True)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    dev = "cuda"
    torch.manual_seed(0)
    batch, d = (2, 32) if args.quick else (8, 512)
    lengths = [64, 100] if args.quick else [1024, 2048]
    rows = []
    for length in lengths:
        for name, make, how in FAMILIES:
            forward, params, loop = make(d, dev)
            x = torch.randn(batch, length, d, device=dev, requires_grad=True)
            dy = torch.randn(batch, length, d, device=dev)
            check = ""
            if loop is not None:  # the parallel scan against its own recurrence on a prefix
                with torch.no_grad():
                    prefix = x[:1, :48]
                    err = ((forward(prefix) - loop(prefix)).abs().max() / loop(prefix).abs().max()).item()
                assert err < 1e-4, f"torch {name}: scan vs loop relative error {err}"
                check = f", scan = loop to {err:.1e}"
            with torch.no_grad():
                assert torch.isfinite(forward(x)).all(), f"torch {name} T={length}: non-finite output"

            def step():
                forward(x).backward(dy)
                x.grad = None
                for p in params:
                    p.grad = None

            ms, iters = time_ms(step)
            rows.append({
                "suite": "layers-diagonal",
                "name": f"{name} fwd+bwd T={length}",
                "ms": ms,
                "tokensPerSec": batch * length / (ms / 1000),
                "note": f"PyTorch {torch.__version__} eager fp32 (TF32 off): {how}, x{iters}{check}",
            })
            print(f"{rows[-1]['name']:<28} {ms:10.3f} ms", flush=True)
    with open(args.out, "w") as f:
        json.dump(rows, f, indent=2)
    print(torch.cuda.get_device_name(), "TORCH-LAYERS-DIAGONAL-DONE")


if __name__ == "__main__":
    main()
