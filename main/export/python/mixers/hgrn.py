class HGRN(nn.Module):
    """HGRN (fla/layers/hgrn.py, real-valued): forget gate lambda = lb + (1 - lb) sigmoid(f_proj x), input
    i = silu(i_proj x) (1 - lambda), h_t = lambda_t h_{t-1} + i_t, out = o_proj(RMSNorm(h) * silu(g_proj x)).
    """

    def __init__(self, d_model, expand_ratio=1, lower_bound=0.0, norm_eps=1e-5):
        super().__init__()
        d_inner = d_model * expand_ratio
        self.lower_bound = lower_bound
        self.i_proj = linear(d_model, d_inner, std=0.02)
        self.f_proj = linear(d_model, d_inner, std=0.02)
        self.g_proj = linear(d_model, d_inner, std=0.02)
        self.g_norm = Norm(d_inner, "rms", norm_eps)
        self.o_proj = linear(d_inner, d_model, std=0.02)

    def forward(self, x, state=None):
        forget = self.lower_bound + (1 - self.lower_bound) * torch.sigmoid(self.f_proj(x))
        update = F.silu(self.i_proj(x)) * (1 - forget)
        h, last = diagonal_scan(forget, update, None if state is None else state["h"])
        return self.o_proj(self.g_norm(h) * F.silu(self.g_proj(x))), {"h": last}
