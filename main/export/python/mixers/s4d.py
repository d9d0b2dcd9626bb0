class S4DKernel(nn.Module):
    """S4D's diagonal SSM parameters: A = -exp(log_A_real) + i A_imag, dt = exp(log_dt), C as (re, im) pairs."""

    def __init__(self, channels, modes, dt_min=0.001, dt_max=0.1):
        super().__init__()
        log_dt = torch.rand(channels) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min)
        self.log_dt = nn.Parameter(log_dt)
        self.log_A_real = nn.Parameter(torch.full((channels, modes), math.log(0.5)))
        self.A_imag = nn.Parameter(math.pi * torch.arange(modes, dtype=torch.float32).repeat(channels, 1))
        self.C = nn.Parameter(torch.randn(channels, modes, 2) * math.sqrt(0.5))

    def discretize(self):
        """Zero-order hold: lambda = exp(dt A) and the readout 2 C (lambda - 1) / A, in float64 (lambda - 1
        cancels for small dt A), returned as complex64 [channels, modes]."""
        dt = torch.exp(self.log_dt.double())[:, None]
        A = torch.complex(-torch.exp(self.log_A_real.double()), self.A_imag.double())
        lam = torch.exp(dt * A)
        readout = 2 * torch.view_as_complex(self.C.double()) * (lam - 1) / A
        return lam.to(torch.complex64), readout.to(torch.complex64)


class S4D(nn.Module):
    """S4D (Gu et al., diagonal S4) in its recurrent view: per channel h and mode n,
    s_t = lambda s_{t-1} + u_t; y = gelu(Re(sum_n readout s_t) + D u_t); out = GLU(output_linear(y)).
    The state "h" is [B, channels * modes, 2] (real, imaginary)."""

    def __init__(self, d_model, d_state=64, dt_min=0.001, dt_max=0.1):
        super().__init__()
        self.modes = d_state // 2
        self.kernel = S4DKernel(d_model, self.modes, dt_min, dt_max)
        self.D = nn.Parameter(torch.randn(d_model))
        self.output_linear = nn.Sequential(nn.Linear(d_model, 2 * d_model))

    def forward(self, x, state=None):
        batch, length, channels = x.shape
        lam, readout = self.kernel.discretize()
        u = x.to(torch.complex64)[..., None].expand(batch, length, channels, self.modes)
        h0 = None if state is None else torch.view_as_complex(state["h"].contiguous()).view(batch, channels, -1)
        s, last = diagonal_scan(lam.expand_as(u), u, h0)
        y = F.gelu((s * readout).sum(-1).real + self.D * x)
        return F.glu(self.output_linear(y), dim=-1), {"h": torch.view_as_real(last).reshape(batch, -1, 2)}
