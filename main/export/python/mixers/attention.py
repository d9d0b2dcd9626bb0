def rotary(x, positions, base):
    """RoPE, GPT-NeoX layout: channel pairs (f, f + D/2) of each head of x [B, T, H, D] rotated by the angle
    position * base^(-2f/D) (computed in float64, then rounded)."""
    half = x.shape[-1] // 2
    inv_freq = base ** (-2 * torch.arange(half, dtype=torch.float64, device=x.device) / x.shape[-1])
    angle = positions.to(torch.float64)[:, None] * inv_freq[None, :]  # [T, D/2]
    cos, sin = angle.cos().to(x.dtype)[:, None, :], angle.sin().to(x.dtype)[:, None, :]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class Attention(nn.Module):
    """Causal softmax attention (fla/layers/attn.py) with rotary position embeddings (rope_theta > 0).

    Grouped/multi-query heads (query head h reads key/value head h // (num_heads / num_kv_heads)), an
    optional sliding window (a query at position p sees keys j with p - j < window), and the Forgetting
    Transformer gate: scores get F_p - F_j with F_t the running sum of log sigmoid(fgate_proj(x_t)) per
    head. The state is the KV cache: every token's rotated key and value (and F per token with the gate).
    """

    def __init__(
        self,
        d_model,
        num_heads=4,
        num_kv_heads=0,
        head_dim=0,
        window=0,
        forget_gate=False,
        qkv_bias=False,
        rope_theta=0.0,
    ):
        super().__init__()
        self.rope_theta = rope_theta
        self.num_heads = num_heads
        self.num_kv_heads = num_kv_heads or num_heads
        self.head_dim = head_dim or d_model // num_heads
        self.window = window
        self.forget_gate = forget_gate
        width_q, width_kv = self.num_heads * self.head_dim, self.num_kv_heads * self.head_dim
        self.q_proj = linear(d_model, width_q, bias=qkv_bias, std=0.02)
        self.k_proj = linear(d_model, width_kv, bias=qkv_bias, std=0.02)
        self.v_proj = linear(d_model, width_kv, bias=qkv_bias, std=0.02)
        if forget_gate:
            self.fgate_proj = linear(d_model, num_heads, bias=True, std=0.02)
        self.o_proj = linear(width_q, d_model, std=0.02)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        heads, kv_heads, dim = self.num_heads, self.num_kv_heads, self.head_dim
        q = self.q_proj(x).view(batch, length, heads, dim)
        k = self.k_proj(x).view(batch, length, kv_heads, dim)
        v = self.v_proj(x).view(batch, length, kv_heads, dim)
        cached = 0 if state is None else state["k"].shape[1]
        if self.rope_theta > 0:  # cached keys were rotated at their own positions
            positions = torch.arange(cached, cached + length, device=x.device)
            q, k = rotary(q, positions, self.rope_theta), rotary(k, positions, self.rope_theta)
        if cached:
            k = torch.cat([state["k"], k], dim=1)
            v = torch.cat([state["v"], v], dim=1)
        new_state = {"k": k, "v": v}

        group = heads // kv_heads
        keys, values = k.repeat_interleave(group, dim=2), v.repeat_interleave(group, dim=2)
        scores = torch.einsum("bqhd,bkhd->bhqk", q, keys) / math.sqrt(dim)
        query_pos = torch.arange(cached, cached + length, device=x.device)[:, None]
        key_pos = torch.arange(cached + length, device=x.device)[None, :]
        visible = key_pos <= query_pos
        if self.window > 0:
            visible = visible & (query_pos - key_pos < self.window)
        if self.forget_gate:
            log_forget = F.logsigmoid(self.fgate_proj(x))  # [B, T, H]
            start = state["f"][:, -1:] if cached else torch.zeros_like(log_forget[:, :1])
            cumulative = start + torch.cumsum(log_forget, dim=1)
            every = torch.cat([state["f"], cumulative], dim=1) if cached else cumulative
            new_state["f"] = every
            scores = scores + cumulative.transpose(1, 2)[:, :, :, None] - every.transpose(1, 2)[:, :, None, :]
        weights = scores.masked_fill(~visible, float("-inf")).softmax(dim=-1)
        out = torch.einsum("bhqk,bkhd->bqhd", weights, values).reshape(batch, length, heads * dim)
        return self.o_proj(out), new_state
