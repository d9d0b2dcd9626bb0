def paragru_cell(x, a, state):
    """ParaGRU: z = s(a_z h + x_z), r = s(a_r h + x_r), q = tanh(a_h h r + x_h), h <- z q + (1 - z) h."""
    x_z, x_r, x_h = x
    a_z, a_r, a_h = a
    (h,) = state
    z = torch.sigmoid(a_z * h + x_z)
    r = torch.sigmoid(a_r * h + x_r)
    q = torch.tanh(a_h * h * r + x_h)
    return [z * q + (1 - z) * h]


def paralstm_cell(x, a, state):
    """ParaLSTM (CIFG, peepholes c_f, c_o), state rows [c, h]: f = s(a_f h + x_f + c_f c),
    c <- f c + (1 - f) tanh(a_c h + x_c), o = s(a_o h + x_o + c_o c), h <- o tanh(c)."""
    x_f, x_o, x_c = x
    a_f, a_o, a_c, c_f, c_o = a
    c, h = state
    f = torch.sigmoid(a_f * h + x_f + c_f * c)
    c = f * c + (1 - f) * torch.tanh(a_c * h + x_c)
    o = torch.sigmoid(a_o * h + x_o + c_o * c)
    return [c, o * torch.tanh(c)]


# cell: (function, input pre-activation blocks, rows of recurrent_diag, state rows, the row that is h)
PARA_CELLS = {
    "paragru": (paragru_cell, 3, 3, ["h"], 0),
    "paralstm": (paralstm_cell, 3, 5, ["c", "h"], 1),
}


class ParaRNN(nn.Module):
    """ParaRNN's ParaGRU and ParaLSTM (Apple ml-pararnn): every recurrent matrix is diagonal, so each unit's
    gates see only its own previous state. Pre-activations x = in_proj(input) (+ bias) for all tokens, then
    the cell token by token with the per-unit weights recurrent_diag [rows, hidden], and y = out_proj(h).

    StateLab may train these with Newton's method over the whole sequence (option `mode`); that solver
    converges to the states of this plain loop, which is the layer itself. The state is one tensor named
    after its rows: "h" [B, hidden] for ParaGRU, "c_h" [B, 2, hidden] (c, then h) for ParaLSTM.
    """

    def __init__(self, d_model, hidden=0, cell="paragru"):
        super().__init__()
        self.cell, blocks, rows, self.rows, self.output = PARA_CELLS[cell]
        self.hidden = hidden or d_model
        self.key = "_".join(self.rows)
        self.in_proj = nn.Linear(d_model, blocks * self.hidden)
        self.recurrent_diag = nn.Parameter(torch.randn(rows, self.hidden) * math.sqrt(2 / (5 * self.hidden)))
        self.out_proj = nn.Linear(self.hidden, d_model, bias=False)
        with torch.no_grad():
            nn.init.xavier_uniform_(self.in_proj.weight)
            nn.init.xavier_uniform_(self.out_proj.weight)
            # ParaRNN's "bias_minus_linspace": the first gate's bias falls from 0 to -1 over the units.
            self.in_proj.bias.zero_()
            self.in_proj.bias[: self.hidden] = -torch.linspace(0, 1, self.hidden)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        pre = self.in_proj(x).view(batch, length, -1, self.hidden)
        if state is None:
            rows = [x.new_zeros(batch, self.hidden) for _ in self.rows]
        else:
            saved = state[self.key]
            rows = [saved] if saved.dim() == 2 else list(saved.unbind(dim=1))
        weights = self.recurrent_diag.unbind(0)
        outputs = []
        for t in range(length):
            rows = self.cell(pre[:, t].unbind(1), weights, rows)
            outputs.append(rows[self.output])
        last = rows[0] if len(rows) == 1 else torch.stack(rows, dim=1)
        return self.out_proj(torch.stack(outputs, dim=1)), {self.key: last}


def paragru(d_model, hidden=0, mode="newton", newton_iterations=8, newton_tolerance=1e-5):
    """ParaGRU. mode and newton_* only choose StateLab's training-time solver; the layer is the recurrence."""
    return ParaRNN(d_model, hidden, "paragru")


def paralstm(d_model, hidden=0, mode="newton", newton_iterations=8, newton_tolerance=1e-5):
    """ParaLSTM (CIFG with peepholes). mode and newton_* only choose StateLab's training-time solver."""
    return ParaRNN(d_model, hidden, "paralstm")
