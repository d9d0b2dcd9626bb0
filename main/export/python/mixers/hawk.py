class BlockDiagonalLinear(nn.Module):
    """Per head h: out[h, j] = sum_i x[h, i] w[h, i, j] + b[h, j] (recurrentgemma's BlockDiagonalLinear)."""

    def __init__(self, width, heads):
        super().__init__()
        self.heads = heads
        block = width // heads
        self.w = nn.Parameter(nn.init.normal_(torch.empty(heads, block, block), std=math.sqrt(1 / block)))
        self.b = nn.Parameter(torch.zeros(heads, block))

    def forward(self, x):
        blocks = x.unflatten(-1, (self.heads, -1))
        return (torch.einsum("...hi,hij->...hj", blocks, self.w) + self.b).flatten(-2)


class RGLRU(nn.Module):
    """Griffin's real-gated linear recurrent unit: log a_t = -8 r_t softplus(a_param),
    h_t = a_t h_{t-1} + sqrt(1 - a_t^2) (i_t * u_t), with r, i sigmoid gates of u. At the start of a
    sequence (`reset`) a = 0 and the sqrt(1 - a^2) normalization is 1, as in recurrentgemma."""

    def __init__(self, width, heads):
        super().__init__()
        self.a_param = nn.Parameter(torch.zeros(width))
        self.input_gate = BlockDiagonalLinear(width, heads)
        self.a_gate = BlockDiagonalLinear(width, heads)

    def forward(self, u, h=None, reset=None):
        gate_x = torch.sigmoid(self.input_gate(u))
        log_a = -8 * torch.sigmoid(self.a_gate(u)) * F.softplus(self.a_param)
        a, multiplier = torch.exp(log_a), torch.sqrt(-torch.expm1(2 * log_a))
        if reset is not None:  # [B, 1]: 1 where the first token starts a sequence
            start = torch.zeros_like(a[..., :1])
            start[:, 0] = reset
            a, multiplier = a * (1 - start), multiplier * (1 - start) + start
        return diagonal_scan(a, multiplier * gate_x * u, h)


class Hawk(nn.Module):
    """Hawk's recurrent block (Griffin; recurrentgemma's RecurrentBlock): y = gelu_tanh(linear_y x),
    u = conv_1d(linear_x x), out = linear_out(RG-LRU(u) * y). State: "h", "conv" and "reset" (1 until the
    first token, so a fresh state behaves as the start of a document)."""

    def __init__(self, d_model, lru_width=0, num_heads=1, conv_width=4):
        super().__init__()
        width = lru_width or d_model
        self.linear_y = nn.Linear(d_model, width)
        self.linear_x = nn.Linear(d_model, width)
        self.linear_out = nn.Linear(width, d_model)
        self.conv_1d = ShortConv(width, conv_width, bias=True)
        self.rg_lru = RGLRU(width, num_heads)

    def forward(self, x, state=None):
        y = F.gelu(self.linear_y(x), approximate="tanh")
        u, conv = self.conv_1d(self.linear_x(x), None if state is None else state["conv"])
        reset = x.new_ones(x.shape[0], 1) if state is None else state["reset"]
        h, last = self.rg_lru(u, None if state is None else state["h"], reset)
        return self.linear_out(h * y), {"h": last, "conv": conv, "reset": torch.zeros_like(reset)}
