def lstm_cell(raw, state):
    """LSTM, gates [i, f, z, o]: c = s(f) c + s(i) tanh(z), h = s(o) tanh(c). State rows: h, c."""
    i, f, z, o = raw
    c = torch.sigmoid(f) * state[1] + torch.sigmoid(i) * torch.tanh(z)
    return [torch.sigmoid(o) * torch.tanh(c), c]


def gru_cell(raw, state):
    """FlashRNN's GRU, gates [g, r, z, n] (g = R_g h + b_g): h = z h + (1 - z) tanh(n + s(r) g)."""
    g, r, z, n = raw
    z = torch.sigmoid(z)
    return [z * state[0] + (1 - z) * torch.tanh(n + torch.sigmoid(r) * g)]


def elman_cell(raw, state):
    """Elman: h = tanh(W x + R h + b)."""
    return [torch.tanh(raw[0])]


def slstm_cell(raw, state):
    """xLSTM's sLSTM, gates [i, f, z, o], state rows h, c, n, m: exponential input gate with the
    stabilizer m and normalizer n; h = s(o) c / n."""
    i, f, z, o = raw
    _, c, n, m = state
    log_f = F.logsigmoid(f)
    m_new = torch.maximum(i, log_f + m)
    input_gate = torch.exp(i - m_new)
    forget_gate = torch.exp(log_f + m - m_new)
    c = forget_gate * c + input_gate * torch.tanh(z)
    n = forget_gate * n + input_gate
    return [torch.sigmoid(o) * c / n, c, n, m_new]


# cell: (function, raw gates, gates fed by the input projection, gates fed by R h, state rows)
CELLS = {
    "lstm": (lstm_cell, 4, [0, 1, 2, 3], [0, 1, 2, 3], ["h", "c"]),
    "gru": (gru_cell, 4, [1, 2, 3], [0, 1, 2], ["h"]),
    "elman": (elman_cell, 1, [0], [0], ["h"]),
    "slstm": (slstm_cell, 4, [0, 1, 2, 3], [0, 1, 2, 3], ["h", "c", "n", "m"]),
}


class BlockDiagonal(nn.Module):
    """The recurrent matrices: one [D, D] block per (recurrent gate, head); weight [gates, heads, D, D]."""

    def __init__(self, gates, heads, head_size):
        super().__init__()
        self.weight = nn.Parameter(uniform_(torch.empty(gates, heads, head_size, head_size), head_size))

    def forward(self, h):
        """h [B, heads * D] -> R h for every recurrent gate: [B, gates, heads * D]."""
        gates, heads, size, _ = self.weight.shape
        out = torch.einsum("ghjk,bhk->bghj", self.weight, h.view(h.shape[0], heads, size))
        return out.reshape(h.shape[0], gates, heads * size)


class FusedRNN(nn.Module):
    """LSTM, GRU, Elman and sLSTM as StateLab trains them (FlashRNN's layout): input projection for all
    tokens, a multi-head block-diagonal recurrence token by token, and an output projection:
    raw gate g = bias[g] + (in_proj x)[g] + (R_g h)[g]; the cell maps (raw gates, state) to the next state;
    y = out_proj(h). The state is one tensor named after its rows ("h_c" [B, 2, hidden] for the LSTM,
    "h" [B, hidden] for GRU and Elman, "h_c_n_m" [B, 4, hidden] for the sLSTM).
    """

    def __init__(self, d_model, hidden=0, heads=4, cell="lstm"):
        super().__init__()
        self.cell, gates, self.input_gates, self.recurrent_gates, self.rows = CELLS[cell]
        self.hidden = hidden or d_model
        self.in_proj = nn.Linear(d_model, len(self.input_gates) * self.hidden, bias=False)
        self.recurrent = BlockDiagonal(len(self.recurrent_gates), heads, self.hidden // heads)
        self.bias = nn.Parameter(torch.zeros(gates, self.hidden))
        self.out_proj = nn.Linear(self.hidden, d_model, bias=False)
        self.key = "_".join(self.rows)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        inputs = self.in_proj(x).view(batch, length, len(self.input_gates), self.hidden)
        if state is None:
            rows = [x.new_zeros(batch, self.hidden) for _ in self.rows]
        else:
            saved = state[self.key]
            rows = [saved] if saved.dim() == 2 else list(saved.unbind(dim=1))
        outputs = []
        for t in range(length):
            raw = list(self.bias.unbind(0))
            for block, gate in enumerate(self.input_gates):
                raw[gate] = raw[gate] + inputs[:, t, block]
            recurrent = self.recurrent(rows[0])
            for block, gate in enumerate(self.recurrent_gates):
                raw[gate] = raw[gate] + recurrent[:, block]
            rows = self.cell(raw, rows)
            outputs.append(rows[0])
        last = rows[0] if len(rows) == 1 else torch.stack(rows, dim=1)
        return self.out_proj(torch.stack(outputs, dim=1)), {self.key: last}


def lstm(d_model, hidden=0, heads=4):
    return FusedRNN(d_model, hidden, heads, "lstm")


def gru(d_model, hidden=0, heads=4):
    return FusedRNN(d_model, hidden, heads, "gru")


def elman(d_model, hidden=0, heads=4):
    return FusedRNN(d_model, hidden, heads, "elman")


def slstm(d_model, hidden=0, heads=4):
    return FusedRNN(d_model, hidden, heads, "slstm")
