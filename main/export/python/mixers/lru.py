class LRU(nn.Module):
    """Linear Recurrent Unit (Orvieto et al.): complex diagonal h_t = lambda * h_{t-1} + gamma * (B x_t),
    y_t = Re(C h_t) + D * x_t, with lambda = exp(-exp(nu_log) + i exp(theta_log)) and gamma = exp(gamma_log).
    B and C are stored as real and imaginary parts. The state "h" is [B, N, 2] (real, imaginary)."""

    def __init__(self, d_model, d_state=64, r_min=0.9, r_max=0.999, max_phase=6.283):
        super().__init__()
        self.nu_log = nn.Parameter(torch.zeros(d_state))
        self.theta_log = nn.Parameter(torch.zeros(d_state))
        self.gamma_log = nn.Parameter(torch.zeros(d_state))
        self.B_re = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))
        self.B_im = nn.Parameter(torch.randn(d_state, d_model) / math.sqrt(2 * d_model))
        self.C_re = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.C_im = nn.Parameter(torch.randn(d_model, d_state) / math.sqrt(d_state))
        self.D = nn.Parameter(torch.randn(d_model))

    def forward(self, x, state=None):
        lam = torch.polar(torch.exp(-torch.exp(self.nu_log)), torch.exp(self.theta_log))  # complex [N]
        gamma = torch.exp(self.gamma_log)
        bx = torch.complex(F.linear(x, self.B_re), F.linear(x, self.B_im)) * gamma  # [B, T, N]
        h0 = None if state is None else torch.view_as_complex(state["h"].contiguous())
        h, last = diagonal_scan(lam.expand_as(bx), bx, h0)
        y = F.linear(h.real, self.C_re) - F.linear(h.imag, self.C_im) + self.D * x
        return y, {"h": torch.view_as_real(last)}
