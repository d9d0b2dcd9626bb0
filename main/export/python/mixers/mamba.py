class Mamba(nn.Module):
    """Mamba-1's selective SSM block (state-spaces/mamba mamba_simple.py, selective_scan_ref):

    [x, z] = in_proj(u); x = silu(conv1d(x)); [dt_low, B, C] = x_proj(x); dt = softplus(dt_proj(dt_low));
    h[c, n] <- exp(dt_c A[c, n]) h[c, n] + dt_c B_n x_c;  y_c = sum_n C_n h[c, n] + D_c x_c;
    out = out_proj(y * silu(z)), with A = -exp(A_log). With negative_eigenvalues the transition is
    2 exp(dt A) - 1, in (-1, 1]. State: "ssm" [B, d_inner, N] and the conv's "conv" [B, d_conv - 1, d_inner].
    """

    def __init__(
        self,
        d_model,
        d_state=16,
        d_conv=4,
        expand=2,
        dt_rank=0,
        dt_min=0.001,
        dt_max=0.1,
        dt_init_floor=1e-4,
        negative_eigenvalues=False,
    ):
        super().__init__()
        d_inner = expand * d_model
        self.d_state = d_state
        self.dt_rank = dt_rank or math.ceil(d_model / 16)
        self.negative_eigenvalues = negative_eigenvalues
        self.in_proj = linear(d_model, 2 * d_inner)
        self.conv1d = ShortConv(d_inner, d_conv, bias=True)
        self.x_proj = linear(d_inner, self.dt_rank + 2 * d_state)
        self.dt_proj = linear(self.dt_rank, d_inner, bias=True)
        # dt log-uniform in [dt_min, dt_max], stored through the inverse of softplus.
        dt = torch.exp(torch.rand(d_inner) * (math.log(dt_max) - math.log(dt_min)) + math.log(dt_min))
        dt = dt.clamp(min=dt_init_floor)
        with torch.no_grad():
            self.dt_proj.bias.copy_(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.arange(1, d_state + 1, dtype=torch.float32)).repeat(d_inner, 1))
        self.D = nn.Parameter(torch.ones(d_inner))
        self.out_proj = linear(d_inner, d_model)

    def forward(self, x, state=None):
        xi, z = self.in_proj(x).chunk(2, dim=-1)
        u, conv = self.conv1d(xi, None if state is None else state["conv"])
        u = F.silu(u)
        dt_low, b, c = self.x_proj(u).split([self.dt_rank, self.d_state, self.d_state], dim=-1)
        dt = F.softplus(self.dt_proj(dt_low))  # [B, T, d_inner]
        decay = torch.exp(-dt[..., None] * torch.exp(self.A_log))  # exp(dt A), [B, T, d_inner, N]
        if self.negative_eigenvalues:
            decay = 2 * decay - 1
        h, last = diagonal_scan(decay, (dt * u)[..., None] * b[:, :, None, :], None if state is None else state["ssm"])
        y = (h * c[:, :, None, :]).sum(-1) + u * self.D
        return self.out_proj(y * F.silu(z)), {"ssm": last, "conv": conv}
