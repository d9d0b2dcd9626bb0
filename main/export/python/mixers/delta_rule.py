class DeltaRule(nn.Module):
    """The delta-rule layer of DeltaNet, Gated DeltaNet and DeltaProduct (fla/layers/delta_net.py,
    gated_deltanet.py, gated_deltaproduct.py):

    q = l2norm(silu(conv(q_proj x))), k = l2norm(silu(conv(k_proj x))), v = silu(conv(v_proj x)) per head,
    beta = sigmoid(b_proj x) (2 sigmoid with negative eigenvalues), and per token
    S <- exp(g) S (gated: g = -exp(A_log) softplus(a_proj x + dt_bias)), then `householder` times
    S <- S + beta k (v - S^T k)^T, and o = S^T q / sqrt(head_k); out = o_proj(RMSNorm(o) [* silu(g_proj x)]).
    S is [B, heads, head_k, head_v]. A loop over tokens: the clearest form, not the fastest.
    """

    def __init__(
        self,
        d_model,
        num_heads,
        head_k,
        head_v,
        householder=1,
        gated=False,
        output_gate=False,
        conv_size=4,
        negative_eigenvalues=False,
        norm_eps=1e-5,
    ):
        super().__init__()
        heads, n = num_heads, householder
        self.heads, self.head_k, self.head_v, self.householder = heads, head_k, head_v, householder
        self.gated, self.output_gate, self.conv_size = gated, output_gate, conv_size
        self.beta_scale = 2.0 if negative_eigenvalues else 1.0
        self.q_proj = linear(d_model, heads * head_k, std=0.02)
        self.k_proj = linear(d_model, n * heads * head_k, std=0.02)
        self.v_proj = linear(d_model, n * heads * head_v, std=0.02)
        self.b_proj = linear(d_model, n * heads, std=0.02)
        if gated:
            self.a_proj = linear(d_model, heads, std=0.02)
            self.A_log = nn.Parameter(torch.log(torch.empty(heads).uniform_(1e-4, 16)))
            dt = torch.exp(torch.rand(heads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).clamp(min=1e-4)
            self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        if conv_size > 0:
            self.q_conv1d = ShortConv(heads * head_k, conv_size)
            self.k_conv1d = ShortConv(n * heads * head_k, conv_size)
            self.v_conv1d = ShortConv(n * heads * head_v, conv_size)
        if output_gate:
            self.g_proj = linear(d_model, heads * head_v, std=0.02)
        self.o_norm = Norm(head_v, "rms", norm_eps)
        self.o_proj = linear(heads * head_v, d_model, std=0.02)

    def convolve(self, name, x, state, new_state):
        """silu(short conv(x)), carrying the conv's history under `name`; silu(x) without convolutions."""
        if self.conv_size == 0:
            return F.silu(x)
        y, new_state[name] = getattr(self, name)(x, state.get(name))
        return F.silu(y)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        heads, K, V, n = self.heads, self.head_k, self.head_v, self.householder
        state = state or {}
        new_state = {}
        q = l2_normalize(self.convolve("q_conv1d", self.q_proj(x), state, new_state).view(batch, length, heads, K))
        k = l2_normalize(self.convolve("k_conv1d", self.k_proj(x), state, new_state).view(batch, length, n, heads, K))
        v = self.convolve("v_conv1d", self.v_proj(x), state, new_state).view(batch, length, n, heads, V)
        beta = self.beta_scale * torch.sigmoid(self.b_proj(x)).view(batch, length, n, heads)
        if self.gated:
            g = -torch.exp(self.A_log) * F.softplus(self.a_proj(x) + self.dt_bias)  # [B, T, heads]
        S = state.get("S")
        if S is None:
            S = x.new_zeros(batch, heads, K, V)
        outputs = []
        for t in range(length):
            if self.gated:
                S = S * torch.exp(g[:, t])[:, :, None, None]
            for j in range(n):
                key = k[:, t, j]  # [B, heads, K]
                predicted = torch.einsum("bhkv,bhk->bhv", S, key)
                S = S + key[..., None] * (beta[:, t, j, :, None] * (v[:, t, j] - predicted))[:, :, None, :]
            outputs.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]) / math.sqrt(K))
        o = self.o_norm(torch.stack(outputs, dim=1))  # [B, T, heads, V]
        if self.output_gate:
            o = o * F.silu(self.g_proj(x).view(batch, length, heads, V))
        new_state["S"] = S
        return self.o_proj(o.reshape(batch, length, heads * V)), new_state


def head_dims(num_heads, key_width, value_width):
    return key_width // num_heads, value_width // num_heads


def deltanet(
    d_model,
    num_heads=4,
    expand_k=1,
    expand_v=1,
    conv_size=4,
    use_output_gate=False,
    negative_eigenvalues=False,
    norm_eps=1e-5,
    chunk_size="32",
):
    """DeltaNet: the delta rule with key width d_model * expand_k. (chunk_size only tiles StateLab's kernel.)"""
    head_k, head_v = head_dims(num_heads, int(d_model * expand_k), int(d_model * expand_v))
    return DeltaRule(
        d_model, num_heads, head_k, head_v, 1, False, use_output_gate, conv_size, negative_eigenvalues, norm_eps
    )


def gated_deltanet(
    d_model,
    num_heads=4,
    head_dim=0,
    expand_v=2,
    conv_size=4,
    use_output_gate=True,
    negative_eigenvalues=False,
    norm_eps=1e-5,
    chunk_size="32",
):
    """Gated DeltaNet: a learned scalar decay per head and token; keys head_dim wide (or d_model / heads)."""
    key_width = head_dim * num_heads if head_dim > 0 else d_model
    head_k, head_v = head_dims(num_heads, key_width, int(key_width * expand_v))
    return DeltaRule(
        d_model, num_heads, head_k, head_v, 1, True, use_output_gate, conv_size, negative_eigenvalues, norm_eps
    )


def deltaproduct(
    d_model,
    num_heads=4,
    head_dim=0,
    expand_v=2,
    num_householder=2,
    use_forget_gate=True,
    conv_size=4,
    use_output_gate=True,
    negative_eigenvalues=True,
    norm_eps=1e-5,
    chunk_size="32",
):
    """(Gated) DeltaProduct: num_householder delta-rule steps per token."""
    key_width = head_dim * num_heads if head_dim > 0 else d_model
    head_k, head_v = head_dims(num_heads, key_width, int(key_width * expand_v))
    return DeltaRule(
        d_model,
        num_heads,
        head_k,
        head_v,
        num_householder,
        use_forget_gate,
        use_output_gate,
        conv_size,
        negative_eigenvalues,
        norm_eps,
    )
