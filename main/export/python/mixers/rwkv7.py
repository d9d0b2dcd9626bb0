class RWKV7LoRA(nn.Module):
    """fla's LoRA module: Linear(d, rank) -> activation -> Linear(rank, d), so its parameters are named
    lora.0.weight, lora.2.weight (and lora.2.bias)."""

    def __init__(self, d_model, rank, activation, bias):
        super().__init__()
        self.lora = nn.Sequential(
            linear(d_model, rank, std=0.02), activation, linear(rank, d_model, bias=bias, std=0.02)
        )

    def forward(self, x):
        return self.lora(x)


# The six token-shift mixes and the exponent of their initial ramp (fla's _initialize_weights).
RWKV7_MIXES = {"x_r": 0.2, "x_w": 0.9, "x_k": 0.7, "x_v": 0.7, "x_a": 0.9, "x_g": 0.2}


class RWKV7(nn.Module):
    """RWKV-7 "Goose" time mixing (fla/layers/rwkv7.py) as StateLab trains it. Per token, with the token
    shift x_m = x + (x_prev - x) * m for the mixes m in x_r, x_w, x_k, x_v, x_a, x_g:

    r = r_proj x_r, k = k_proj x_k, v = v_proj x_v, log w = -exp(-1/2) sigmoid(w_lora(x_w)),
    a = sigmoid(a_lora(x_a)), g = g_lora(x_g) (sigmoid inside); per head kappa = normalize(k * k_k),
    k <- k * (1 + (a - 1) * k_a), S <- diag(w) S - (kappa * a)(kappa^T S) + k v^T, o = S^T r;
    out = o_proj((GroupNorm_heads(o) + sum(r * k * r_k) v) * g).

    The state: S [B, heads, head_dim (key), head_dim (value)] and shift [B, d_model] (the last input).
    value_residual="on" (fla's v_first): the first such layer of a forward puts its v into `shared`, the
    dict the model hands every layer that has `uses_shared`; each later one mixes it in per token,
    v <- v + (v_first - v) * sigmoid(v_lora(x_v)). Every value-residual layer owns v_lora (copies of a
    repeated block have the same parameters); the first one leaves it unused, as StateLab does.
    layer_idx and num_layers only shape the initialization; implementation and chunk_size only pick how
    StateLab's kernels run the recurrence (chunked or token by token, same result).
    """

    # The model passes its per-forward `shared` dict only to layers that read or write it.
    uses_shared = True

    def __init__(
        self,
        d_model,
        head_dim=0,
        decay_low_rank_dim=64,
        gate_low_rank_dim=128,
        a_low_rank_dim=64,
        norm_eps=1e-5,
        layer_idx=0,
        num_layers=1,
        implementation="auto",
        chunk_size="64",
        value_residual="off",
        v_low_rank_dim=32,
    ):
        super().__init__()
        self.head_dim = head_dim or min(64, d_model)
        self.heads = d_model // self.head_dim
        shallow = 1 - layer_idx / num_layers  # 1 at the first layer, towards 0 at the last
        depth = layer_idx / (num_layers - 1) if num_layers > 1 else 0.0
        ramp = torch.arange(d_model) / d_model
        unit = torch.linspace(0, 1, d_model)
        for name, power in RWKV7_MIXES.items():
            setattr(self, name, nn.Parameter(1 - ramp ** (power * shallow)))
        self.k_k = nn.Parameter(0.71 - 0.1 * unit)
        self.k_a = nn.Parameter(torch.full((d_model,), 1.02))
        self.r_k = nn.Parameter(torch.full((self.heads, self.head_dim), -0.04))
        self.r_proj = linear(d_model, d_model, std=0.02)
        self.k_proj = linear(d_model, d_model, std=0.002)
        self.v_proj = linear(d_model, d_model, std=0.02)
        self.w_lora = RWKV7LoRA(d_model, decay_low_rank_dim, nn.Tanh(), bias=True)
        self.a_lora = RWKV7LoRA(d_model, a_low_rank_dim, nn.Identity(), bias=True)
        self.g_lora = RWKV7LoRA(d_model, gate_low_rank_dim, nn.Sigmoid(), bias=False)
        self.value_residual = value_residual == "on"
        if self.value_residual:
            self.v_lora = RWKV7LoRA(d_model, v_low_rank_dim, nn.Identity(), bias=True)
        # GroupNorm over each head's channels; fla scales the epsilon by the head size.
        self.g_norm = nn.GroupNorm(self.heads, d_model, eps=self.head_dim * norm_eps)
        self.o_proj = linear(d_model, d_model)
        with torch.no_grad():
            self.w_lora.lora[2].bias.copy_(-6 + 6 * unit ** (1 + depth**0.3) + 0.5)
            self.a_lora.lora[2].bias.copy_(-0.19 + 0.4 * unit)
            self.g_norm.weight.fill_(((layer_idx + 1) / num_layers) ** 0.7)
            self.o_proj.weight.zero_()
            if self.value_residual:
                self.v_lora.lora[2].bias.copy_(0.73 - 0.4 * unit)

    def forward(self, x, state=None, shared=None):
        batch, length, d = x.shape
        heads, size = self.heads, self.head_dim
        state = state or {}
        shift, S = state.get("shift"), state.get("S")
        if shift is None:
            shift = x.new_zeros(batch, d)
        if S is None:
            S = x.new_zeros(batch, heads, size, size)
        previous = torch.cat([shift[:, None], x[:, :-1]], dim=1)
        mixed = {name: x + (previous - x) * getattr(self, name) for name in RWKV7_MIXES}

        def per_head(t):
            return t.view(batch, length, heads, size)

        r = per_head(self.r_proj(mixed["x_r"]))
        w = per_head(torch.exp(-math.exp(-0.5) * torch.sigmoid(self.w_lora(mixed["x_w"]))))
        k = self.k_proj(mixed["x_k"])
        v = self.v_proj(mixed["x_v"])
        if self.value_residual and shared is not None:
            if "rwkv7.v_first" not in shared:
                shared["rwkv7.v_first"] = v
            else:
                v = v + (shared["rwkv7.v_first"] - v) * torch.sigmoid(self.v_lora(mixed["x_v"]))
        v = per_head(v)
        a = torch.sigmoid(self.a_lora(mixed["x_a"]))
        g = self.g_lora(mixed["x_g"])
        kappa = l2_normalize(per_head(k * self.k_k), eps=1e-12)
        k = per_head(k * (1 + (a - 1) * self.k_a))
        a = per_head(a)
        outputs = []
        for t in range(length):
            removal = torch.einsum("bhij,bhi->bhj", S, kappa[:, t])  # kappa^T S, from the state before t
            S = (
                w[:, t, :, :, None] * S
                - (kappa[:, t] * a[:, t])[..., None] * removal[:, :, None, :]
                + k[:, t, :, :, None] * v[:, t, :, None, :]
            )
            outputs.append(torch.einsum("bhij,bhi->bhj", S, r[:, t]))
        o = self.g_norm(torch.stack(outputs, dim=1).reshape(batch * length, d)).view(batch, length, heads, size)
        bonus = (r * k * self.r_k).sum(-1, keepdim=True) * v
        y = self.o_proj((o + bonus).reshape(batch, length, d) * g)
        return y, {"S": S, "shift": x[:, -1]}
