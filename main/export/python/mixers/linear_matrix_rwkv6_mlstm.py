class HeadNorm(nn.Module):
    """GroupNorm with one group per head: LayerNorm over each head's channels of x [..., H, D] (biased
    variance), then the per-channel weight (and bias) of width H * D."""

    def __init__(self, width, eps, bias):
        super().__init__()
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))
        self.bias = nn.Parameter(torch.zeros(width)) if bias else None

    def forward(self, x):
        shape = x.shape[-2:]
        y = F.layer_norm(x, shape[-1:], eps=self.eps) * self.weight.view(shape)
        return y if self.bias is None else y + self.bias.view(shape)


# RWKV-6 ------------------------------------------------------------------------------------------------


def xavier_linear(in_features, out_features, gain):
    """nn.Linear without bias, Xavier-uniform weights (fla's RWKV-6 init uses gain 2^-2.5)."""
    layer = nn.Linear(in_features, out_features, bias=False)
    nn.init.xavier_uniform_(layer.weight, gain=gain)
    return layer


class LerpLinear(nn.Module):
    """fla's LerpLinear: linear(x + delta * mu), a learned interpolation towards the previous token."""

    def __init__(self, in_features, out_features, gain):
        super().__init__()
        self.mu = nn.Parameter(torch.zeros(in_features))
        self.linear = xavier_linear(in_features, out_features, gain)

    def forward(self, x, delta):
        return self.linear(x + delta * self.mu)


class RWKV6LoRA(nn.Module):
    """fla's LoRA as RWKV-6's decay uses it: Linear(d, rank) -> tanh -> Linear(rank, out) + bias, so the
    parameters are named lora.0.weight, lora.2.weight and lora.2.bias."""

    def __init__(self, in_features, rank, out_features):
        super().__init__()
        self.lora = nn.Sequential(nn.Linear(in_features, rank, bias=False), nn.Tanh(), nn.Linear(rank, out_features))
        nn.init.zeros_(self.lora[0].weight)
        gain = 0.1 * (math.sqrt(rank / out_features) if rank > out_features else 1)
        nn.init.orthogonal_(self.lora[2].weight, gain=gain)
        nn.init.zeros_(self.lora[2].bias)

    def forward(self, x):
        return self.lora(x)


class DDLerpLinear(nn.Module):
    """fla's DDLerpLinear: a projection of its own data-dependent token-shift mix (RWKV6.forward computes
    the five mixes together). It holds only `linear`, so names read r_proj.linear.weight."""

    def __init__(self, projection):
        super().__init__()
        self.linear = projection

    def forward(self, mixed):
        return self.linear(mixed)


class RWKV6(nn.Module):
    """RWKV-6 "Finch" time mixing (Peng et al., "Eagle and Finch"; fla/layers/rwkv6.py, the recurrence of
    fla/ops/rwkv6/recurrent_naive.py). Data-dependent token shift ("ddlerp"): with delta = x_prev - x,
    low = tanh(x_proj.0(x, delta)) and for each of r, w, k, v, g (in that order, n = 0..4)
    x_n = x + delta * (x_proj.2 restricted to block n of low + x_bias[n]). Then r, k, v, g projections,
    the decay w = exp(-exp(w_proj(x_w))) per key channel and the bonus u per head:

        o_t = r_t^T (S_{t-1} + diag(u) k_t v_t^T),    S_t = diag(w_t) S_{t-1} + k_t v_t^T

    (the read-out sees the state before token t, which is why this family has its own loop), then
    GroupNorm per head, * silu(g), o_proj. State: S [B, H, K, V] and shift [B, d_model] (the last input).
    """

    def __init__(
        self,
        d_model,
        num_heads=4,
        expand_k=0.5,
        expand_v=1,
        proj_low_rank_dim=32,
        gate_low_rank_dim=64,
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        gain = 2**-2.5
        self.heads, self.rank = num_heads, proj_low_rank_dim
        key_width, value_width = int(d_model * expand_k), int(d_model * expand_v)
        self.x_proj = nn.ModuleList(
            [
                LerpLinear(d_model, 5 * proj_low_rank_dim, gain),
                nn.Tanh(),
                xavier_linear(5 * proj_low_rank_dim, d_model, gain),
            ]
        )
        self.x_bias = nn.Parameter(torch.zeros(5, d_model))
        self.r_proj = DDLerpLinear(xavier_linear(d_model, key_width, gain))
        self.w_proj = DDLerpLinear(RWKV6LoRA(d_model, gate_low_rank_dim, key_width))
        self.k_proj = DDLerpLinear(xavier_linear(d_model, key_width, gain))
        self.v_proj = DDLerpLinear(xavier_linear(d_model, value_width, gain))
        self.g_proj = DDLerpLinear(xavier_linear(d_model, value_width, gain))
        self.bonus = nn.Parameter(torch.zeros(num_heads, key_width // num_heads))
        self.g_norm = HeadNorm(value_width, norm_eps, bias=True)
        self.o_proj = xavier_linear(value_width, d_model, gain)

    def forward(self, x, state=None):
        batch, length, d = x.shape
        state = state or {}
        shift, S = state.get("shift"), state.get("S")
        if shift is None:
            shift = x.new_zeros(batch, d)
        delta = torch.cat([shift[:, None], x[:, :-1]], dim=1) - x
        low = self.x_proj[1](self.x_proj[0](x, delta)).unflatten(-1, (5, self.rank))  # [B, T, 5, rank]
        mu = torch.einsum("btnr,dnr->btnd", low, self.x_proj[2].weight.unflatten(1, (5, self.rank))) + self.x_bias
        x_r, x_w, x_k, x_v, x_g = (x[:, :, None] + delta[:, :, None] * mu).unbind(2)

        def per_head(t):
            return t.unflatten(-1, (self.heads, -1))

        r, k, v = per_head(self.r_proj(x_r)), per_head(self.k_proj(x_k)), per_head(self.v_proj(x_v))
        decay = torch.exp(-torch.exp(per_head(self.w_proj(x_w))))  # in (0, 1) per key channel
        if S is None:
            S = x.new_zeros(batch, self.heads, k.shape[-1], v.shape[-1])
        outputs = []
        for t in range(length):
            bonus = (r[:, t] * self.bonus * k[:, t]).sum(-1, keepdim=True) * v[:, t]
            outputs.append(torch.einsum("bhkv,bhk->bhv", S, r[:, t]) + bonus)
            S = decay[:, t, :, :, None] * S + k[:, t, :, :, None] * v[:, t, :, None, :]
        o = self.g_norm(torch.stack(outputs, dim=1)).flatten(-2)
        return self.o_proj(o * F.silu(self.g_proj(x_g))), {"S": S, "shift": x[:, -1]}


# mLSTM -------------------------------------------------------------------------------------------------

# m before the first token: "no history" (StateLab's NO_HISTORY), so that m_0 = i_0.
MLSTM_NO_HISTORY = -1e30


def mlstm_cell(q, k, v, i_pre, log_f, state):
    """xLSTM's mLSTM cell with its running-max stabilizer m (fla/ops/mlstm naive_recurrent_mlstm), per head:

        m_t = max(log f_t + m_{t-1}, i_t),   f'_t = exp(log f_t + m_{t-1} - m_t),   i'_t = exp(i_t - m_t),
        C_t = f'_t C_{t-1} + i'_t (k_t / sqrt(K)) v_t^T,    n_t = f'_t n_{t-1} + i'_t k_t / sqrt(K),
        h_t = C_t^T q_t / max(|n_t . q_t|, exp(-m_t) + 1e-6)

    q, k: [B, T, H, K], v: [B, T, H, V], input-gate pre-activations i and log forget gates log f: [B, T, H].
    state: {"S": C [B, H, K, V], "n": [B, H, K], "m": [B, H]} or an empty dict (zeros, m = "no history").
    As in StateLab, log f' is floored at -60 (the old memory scaled by < 1e-26) and gradients flow
    through m (fla detaches it). Returns h [B, T, H, V] and the new (S, n, m).
    """
    batch, length, heads, key_dim = k.shape
    C, n, m = state.get("S"), state.get("n"), state.get("m")
    if C is None:
        C = v.new_zeros(batch, heads, key_dim, v.shape[-1])
        n = v.new_zeros(batch, heads, key_dim)
        m = v.new_full((batch, heads), MLSTM_NO_HISTORY)
    k = k / math.sqrt(key_dim)
    outputs = []
    for t in range(length):
        m_next = torch.maximum(log_f[:, t] + m, i_pre[:, t])
        forget = torch.exp(torch.clamp(log_f[:, t] + m - m_next, min=-60.0))  # [B, H]
        write = torch.exp(i_pre[:, t] - m_next)[..., None] * k[:, t]  # [B, H, K]
        C = forget[..., None, None] * C + write[..., None] * v[:, t, :, None, :]
        n = forget[..., None] * n + write
        m = m_next
        denominator = torch.maximum((n * q[:, t]).sum(-1).abs(), torch.exp(-m) + 1e-6)
        outputs.append(torch.einsum("bhkv,bhk->bhv", C, q[:, t]) / denominator[..., None])
    return torch.stack(outputs, dim=1), {"S": C, "n": n, "m": m}


class GroupedLinear(nn.Module):
    """fla's GroupedLinear (xLSTM's block-diagonal q/k/v projections): y[.., g, o] = sum_i W[g bs + o, i]
    x[.., g, i] over blocks of width bs; weight [width, bs]."""

    def __init__(self, width, block, std):
        super().__init__()
        self.block = block
        self.weight = nn.Parameter(nn.init.normal_(torch.empty(width, block), std=std))

    def forward(self, x):
        blocks = x.unflatten(-1, (-1, self.block))  # [.., G, bs]
        weight = self.weight.view(-1, self.block, self.block)  # [G, bs (out), bs (in)]
        return torch.einsum("...gi,goi->...go", blocks, weight).flatten(-2)


class MLSTM(nn.Module):
    """The mLSTM block of xLSTM (Beck et al.; fla/layers/mlstm.py after xlstm/blocks/mlstm):
    [x, z] = proj_up(u); xc = silu(conv1d(x)); q = q_proj(xc), k = k_proj(xc), v = v_proj(x) (block
    diagonal); gate pre-activations i = igate([q, k, v]), log f = logsigmoid(fgate([q, k, v])), one per head;
    h = mlstm_cell(...); y = proj_down((GroupNorm_heads(h) + learnable_skip * xc) * silu(z)).
    The inner width is proj_factor * d_model rounded up to a multiple of round_proj_up_to_multiple_of.
    State: S [B, H, K, K], n [B, H, K], m [B, H] and the conv's history "conv" [B, conv_size - 1, inner].
    """

    def __init__(
        self,
        d_model,
        num_heads=16,
        proj_factor=2,
        round_proj_up_to_multiple_of=64,
        qkv_proj_blocksize=4,
        conv_size=4,
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        multiple, block = round_proj_up_to_multiple_of, qkv_proj_blocksize
        inner = math.ceil(proj_factor * d_model / multiple) * multiple
        self.heads = num_heads
        self.proj_up = linear(d_model, 2 * inner, std=math.sqrt(2 / (5 * d_model)))
        self.q_proj = GroupedLinear(inner, block, std=math.sqrt(2 / 5 / block))
        self.k_proj = GroupedLinear(inner, block, std=math.sqrt(2 / 5 / block))
        self.v_proj = GroupedLinear(inner, block, std=math.sqrt(2 / 5 / block))
        self.conv1d = ShortConv(inner, conv_size, bias=True)
        self.igate = nn.Linear(3 * inner, num_heads)
        self.fgate = nn.Linear(3 * inner, num_heads)
        with torch.no_grad():
            self.igate.weight.zero_()
            self.igate.bias.normal_(std=0.1)
            self.fgate.weight.zero_()
            self.fgate.bias.copy_(torch.linspace(3, 6, num_heads))
        self.o_norm = HeadNorm(inner, norm_eps, bias=False)
        self.learnable_skip = nn.Parameter(torch.ones(inner))
        self.proj_down = linear(inner, d_model, std=2 / math.sqrt(d_model))

    def forward(self, x, state=None):
        state = state or {}
        xm, z = self.proj_up(x).chunk(2, dim=-1)
        xc, conv = self.conv1d(xm, state.get("conv"))
        xc = F.silu(xc)
        q, k, v = self.q_proj(xc), self.k_proj(xc), self.v_proj(xm)
        gates_in = torch.cat([q, k, v], dim=-1)

        def per_head(t):
            return t.unflatten(-1, (self.heads, -1))

        h, cell = mlstm_cell(
            per_head(q), per_head(k), per_head(v), self.igate(gates_in), F.logsigmoid(self.fgate(gates_in)), state
        )
        y = self.proj_down((self.o_norm(h).flatten(-2) + self.learnable_skip * xc) * F.silu(z))
        return y, {**cell, "conv": conv}
