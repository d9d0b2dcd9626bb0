def min_rnn_g(x):
    """minGRU's g: x + 0.5 for x >= 0, sigmoid(x) below, so every state stays positive."""
    return torch.where(x >= 0, x + 0.5, torch.sigmoid(x))


class MinGRU(nn.Module):
    """minGRU ("Were RNNs All We Needed?"): h_t = (1 - z_t) h_{t-1} + z_t g(h~_t), gates from x_t only.

    One projection gives [h~ | z]; `to_out` exists when the expansion is not 1.
    """

    blocks = 2
    projection = "to_hidden_and_gate"

    def __init__(self, d_model, expansion=1):
        super().__init__()
        self.d_inner = int(d_model * expansion)
        setattr(self, self.projection, linear(d_model, self.blocks * self.d_inner))
        self.to_out = linear(self.d_inner, d_model) if expansion != 1 else None

    def coefficients(self, parts):
        hidden, gate = parts
        z = torch.sigmoid(gate)
        return 1 - z, z * min_rnn_g(hidden)

    def forward(self, x, state=None):
        parts = getattr(self, self.projection)(x).chunk(self.blocks, dim=-1)
        a, b = self.coefficients(parts)
        h, last = diagonal_scan(a, b, None if state is None else state["h"])
        return (h if self.to_out is None else self.to_out(h)), {"h": last}


class MinLSTM(MinGRU):
    """minLSTM: h_t = f'_t h_{t-1} + i'_t g(h~_t) with f' = s(f) / (s(f) + s(i)), i' = s(i) / (s(f) + s(i))."""

    blocks = 3
    projection = "to_hidden_and_f_i_gate"

    def coefficients(self, parts):
        hidden, f, i = parts
        f, i = torch.sigmoid(f), torch.sigmoid(i)
        return f / (f + i), i / (f + i) * min_rnn_g(hidden)
