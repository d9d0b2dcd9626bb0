def gated_linear_recurrence(q, k, v, log_decay=None, scale=1.0, S=None):
    """The matrix-state recurrence of the class-B layers below (fla/ops/gla/naive.py), per head:

        S_t = diag(exp(g_t)) S_{t-1} + k_t v_t^T,    o_t = scale * S_t^T q_t

    q, k: [B, T, H, K]; v: [B, T, H, V]; log_decay g: [B, T, H, K] (one decay per key channel), [B, T, H]
    (one per head) or None (no decay); S: [B, H, K, V] carried from an earlier segment, or None for zeros.
    Returns o [B, T, H, V] and the last S. A loop over tokens: the clearest form, not the fastest (StateLab
    trains the chunked form of the same recurrence; the two agree to float32 rounding).
    """
    batch, length, heads, key_dim = k.shape
    if S is None:
        S = v.new_zeros(batch, heads, key_dim, v.shape[-1])
    decay = None
    if log_decay is not None:
        decay = torch.exp(log_decay if log_decay.dim() == 4 else log_decay[..., None])  # [B, T, H, K or 1]
    outputs = []
    for t in range(length):
        if decay is not None:
            S = decay[:, t, :, :, None] * S
        S = S + k[:, t, :, :, None] * v[:, t, :, None, :]
        outputs.append(torch.einsum("bhkv,bhk->bhv", S, q[:, t]))
    return scale * torch.stack(outputs, dim=1), S


def heads_of(x, heads):
    """[B, T, H * D] -> [B, T, H, D]."""
    return x.unflatten(-1, (heads, -1))


def matrix_head_dims(num_heads, key_width, value_width):
    """Key and value dims per head from the total widths (d_model times expand_k / expand_v)."""
    return int(key_width) // num_heads, int(value_width) // num_heads


class LinearAttention(nn.Module):
    """Linear attention (Katharopoulos et al., "Transformers are RNNs"; fla/layers/linear_attn.py):

    q = phi(q_proj x), k = phi(k_proj x) (phi: elu(x) + 1, relu or identity; optionally each head divided
    by its sum + 1e-4: norm_q, norm_k), v = v_proj x; S_t = S_{t-1} + k_t v_t^T, o_t = S_t^T q_t / sqrt(K).
    With `normalize`, o_t is divided by q_t . sum_{s<=t} k_s (+ 1e-10): that sum rides along as one more
    value column of ones, so the state S is [B, heads, K, V + 1]. Then RMSNorm per head (output_norm) and
    o_proj. chunk_size only tiles StateLab's kernel.
    """

    def __init__(
        self,
        d_model,
        num_heads=8,
        expand_k=1,
        expand_v=1,
        feature_map="elu",
        norm_q=False,
        norm_k=False,
        normalize=False,
        output_norm="rmsnorm",
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        self.heads = num_heads
        self.head_k, self.head_v = matrix_head_dims(num_heads, d_model * expand_k, d_model * expand_v)
        self.feature_map, self.norm_q, self.norm_k, self.normalize = feature_map, norm_q, norm_k, normalize
        self.q_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.k_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.v_proj = linear(d_model, num_heads * self.head_v, std=0.02)
        self.norm = Norm(self.head_v, "rms", norm_eps) if output_norm == "rmsnorm" else None
        self.o_proj = linear(num_heads * self.head_v, d_model, std=0.02)

    def phi(self, x, sum_normalize):
        if self.feature_map == "elu":
            x = F.elu(x) + 1
        elif self.feature_map == "relu":
            x = F.relu(x)
        return x / (x.sum(-1, keepdim=True) + 1e-4) if sum_normalize else x

    def forward(self, x, state=None):
        q = self.phi(heads_of(self.q_proj(x), self.heads), self.norm_q)
        k = self.phi(heads_of(self.k_proj(x), self.heads), self.norm_k)
        v = heads_of(self.v_proj(x), self.heads)
        if self.normalize:
            v = torch.cat([v, torch.ones_like(v[..., :1])], dim=-1)
        o, S = gated_linear_recurrence(q, k, v, None, self.head_k**-0.5, None if state is None else state["S"])
        if self.normalize:
            o = o[..., : self.head_v] / (o[..., self.head_v :] + 1e-10)
        if self.norm is not None:
            o = self.norm(o)
        return self.o_proj(o.flatten(-2)), {"S": S}


def rotate_at(x, positions, base=10000.0):
    """RoPE, half-split pairs (f, f + D/2) as fla's RotaryEmbedding, of x [B, T, H, D] at positions [B, T]
    (one row of positions per sequence), angles position * base^(-2f/D) in float64, then rounded."""
    half = x.shape[-1] // 2
    inv_freq = base ** (-2 * torch.arange(half, dtype=torch.float64, device=x.device) / x.shape[-1])
    angle = positions.to(torch.float64)[..., None] * inv_freq  # [B, T, D/2]
    cos, sin = angle.cos().to(x.dtype)[:, :, None], angle.sin().to(x.dtype)[:, :, None]
    x1, x2 = x[..., :half], x[..., half:]
    return torch.cat([x1 * cos - x2 * sin, x1 * sin + x2 * cos], dim=-1)


class RetNet(nn.Module):
    """RetNet's multi-scale retention (Sun et al.; fla/layers/multiscale_retention.py): rotary q and k, a
    fixed decay per head gamma_h = 1 - 2^(-5-h), S_t = gamma_h S_{t-1} + k_t v_t^T, o_t = S_t^T q_t / sqrt(K),
    then RMSNorm per head, gated by silu(g_proj x) (use_output_gate), and o_proj. The state holds S and
    "position" [B] (float), each row's next rotary position, so a continued sequence rotates by its true
    positions.
    """

    def __init__(
        self,
        d_model,
        num_heads=8,
        expand_k=1,
        expand_v=2,
        use_output_gate=True,
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        self.heads = num_heads
        self.head_k, self.head_v = matrix_head_dims(num_heads, d_model * expand_k, d_model * expand_v)
        self.q_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.k_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.v_proj = linear(d_model, num_heads * self.head_v, std=0.02)
        self.g_proj = linear(d_model, num_heads * self.head_v, std=0.02) if use_output_gate else None
        self.g_norm = Norm(self.head_v, "rms", norm_eps)
        self.o_proj = linear(num_heads * self.head_v, d_model, std=0.02)
        # log(1 - 2^(-5-h)), in float64 and then rounded, as StateLab computes it.
        log_gamma = torch.log1p(-(2.0 ** -(5 + torch.arange(num_heads, dtype=torch.float64))))
        self.register_buffer("log_gamma", log_gamma.float(), persistent=False)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        start = x.new_zeros(batch) if state is None else state["position"]
        positions = start[:, None] + torch.arange(length, device=x.device, dtype=x.dtype)
        q = rotate_at(heads_of(self.q_proj(x), self.heads), positions)
        k = rotate_at(heads_of(self.k_proj(x), self.heads), positions)
        v = heads_of(self.v_proj(x), self.heads)
        log_decay = self.log_gamma.expand(batch, length, self.heads)
        S = None if state is None else state["S"]
        o, S = gated_linear_recurrence(q, k, v, log_decay, self.head_k**-0.5, S)
        o = self.g_norm(o)
        if self.g_proj is not None:
            o = o * F.silu(heads_of(self.g_proj(x), self.heads))
        return self.o_proj(o.flatten(-2)), {"S": S, "position": start + length}


class GLA(nn.Module):
    """Gated linear attention (Yang et al.; fla/layers/gla.py): a data-dependent decay per key channel from
    a low-rank gate, log alpha_t = logsigmoid(gk_proj x_t) / gate_logit_normalizer with gk_proj a Linear(d,
    rank) then Linear(rank, H K) + bias; S_t = diag(alpha_t) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t / sqrt(K);
    then RMSNorm per head, gated by silu(g_proj x) (use_output_gate), and o_proj. State: S [B, H, K, V].
    """

    def __init__(
        self,
        d_model,
        num_heads=4,
        expand_k=0.5,
        expand_v=1,
        gate_low_rank_dim=16,
        gate_logit_normalizer=16,
        use_output_gate=True,
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        self.heads, self.gate_logit_normalizer = num_heads, gate_logit_normalizer
        self.head_k, self.head_v = matrix_head_dims(num_heads, d_model * expand_k, d_model * expand_v)
        key_width, value_width = num_heads * self.head_k, num_heads * self.head_v
        self.q_proj = linear(d_model, key_width, std=0.02)
        self.k_proj = linear(d_model, key_width, std=0.02)
        self.v_proj = linear(d_model, value_width, std=0.02)
        self.g_proj = linear(d_model, value_width, std=0.02) if use_output_gate else None
        self.gk_proj = nn.Sequential(
            linear(d_model, gate_low_rank_dim, std=0.02), linear(gate_low_rank_dim, key_width, bias=True, std=0.02)
        )
        self.g_norm = Norm(self.head_v, "rms", norm_eps)
        self.o_proj = linear(value_width, d_model, std=0.02)

    def forward(self, x, state=None):
        q = heads_of(self.q_proj(x), self.heads)
        k = heads_of(self.k_proj(x), self.heads)
        v = heads_of(self.v_proj(x), self.heads)
        log_decay = heads_of(F.logsigmoid(self.gk_proj(x)) / self.gate_logit_normalizer, self.heads)
        o, S = gated_linear_recurrence(q, k, v, log_decay, self.head_k**-0.5, None if state is None else state["S"])
        o = self.g_norm(o)
        if self.g_proj is not None:
            o = o * F.silu(heads_of(self.g_proj(x), self.heads))
        return self.o_proj(o.flatten(-2)), {"S": S}


class HGRN2(nn.Module):
    """HGRN2 (Qin et al.; fla/layers/hgrn2.py): the forget gate lambda = lb + (1 - lb) sigmoid(f_proj x)
    decays the state and its complement is the key. Heads of expand_ratio channels (keys and values):
    q = silu(q_proj x), k = 1 - lambda (computed as (1 - lb) sigmoid(-f_proj x)), v = i_proj x,
    S_t = diag(lambda_t) S_{t-1} + k_t v_t^T, o_t = S_t^T q_t / sqrt(expand_ratio); y = o_proj(RMSNorm(o))
    over all of d_model. lower_bound is this layer's fixed floor lb. State: S [B, H, E, E].
    """

    def __init__(self, d_model, expand_ratio=16, lower_bound=0.0, norm_eps=1e-5, chunk_size="32"):
        super().__init__()
        self.head_dim, self.heads, self.lower_bound = expand_ratio, d_model // expand_ratio, lower_bound
        self.q_proj = linear(d_model, d_model, std=0.02)
        self.f_proj = linear(d_model, d_model, std=0.02)
        self.i_proj = linear(d_model, d_model, std=0.02)
        self.g_norm = Norm(d_model, "rms", norm_eps)
        self.o_proj = linear(d_model, d_model, std=0.02)

    def forward(self, x, state=None):
        lb = self.lower_bound
        f = self.f_proj(x)
        log_forget = F.logsigmoid(f) if lb == 0 else torch.log(lb + (1 - lb) * torch.sigmoid(f))
        q = heads_of(F.silu(self.q_proj(x)), self.heads)
        k = heads_of((1 - lb) * torch.sigmoid(-f), self.heads)
        v = heads_of(self.i_proj(x), self.heads)
        S = None if state is None else state["S"]
        o, S = gated_linear_recurrence(q, k, v, heads_of(log_forget, self.heads), self.head_dim**-0.5, S)
        return self.o_proj(self.g_norm(o.flatten(-2))), {"S": S}


class Mamba2(nn.Module):
    """Mamba-2 / SSD (Dao & Gu, "Transformers are SSMs"; mamba_ssm/modules/mamba2.py), one scalar decay per
    head: [z, xBC, dt] = in_proj(u); xBC = silu(conv1d(xBC)); [x, B, C] = xBC; dt = softplus(dt + dt_bias);
    S_t = exp(dt_t A) S_{t-1} + B_t (dt_t x_t)^T with A = -exp(A_log); y_t = S_t^T C_t + D x_t;
    out = out_proj(RMSNorm(y * silu(z))) with the norm taken within each of ngroups groups. B and C are
    shared by the heads of a group. State: S [B, heads, d_state, headdim] (mamba_ssm keeps [.., headdim,
    d_state]) and the conv's history "conv" [B, d_conv - 1, d_inner + 2 ngroups d_state].
    """

    def __init__(self, d_model, d_state=128, expand=2, headdim=64, ngroups=1, d_conv=4, chunk_size="32"):
        super().__init__()
        d_inner = int(d_model * expand)
        heads = d_inner // headdim
        self.d_inner, self.heads, self.headdim, self.d_state, self.ngroups = d_inner, heads, headdim, d_state, ngroups
        conv_dim = d_inner + 2 * ngroups * d_state
        self.in_proj = linear(d_model, 2 * d_inner + 2 * ngroups * d_state + heads)
        self.conv1d = ShortConv(conv_dim, d_conv, bias=True)
        dt = torch.exp(torch.rand(heads) * (math.log(0.1) - math.log(0.001)) + math.log(0.001)).clamp(min=1e-4)
        self.dt_bias = nn.Parameter(dt + torch.log(-torch.expm1(-dt)))
        self.A_log = nn.Parameter(torch.log(torch.empty(heads).uniform_(1, 16)))
        self.D = nn.Parameter(torch.ones(heads))
        self.norm = Norm(d_inner, "rms", 1e-5)
        self.out_proj = linear(d_inner, d_model)

    def per_head(self, m):
        """[B, T, G N] -> [B, T, H, N]: head h reads group h // (H / G)."""
        return heads_of(m, self.ngroups).repeat_interleave(self.heads // self.ngroups, dim=2)

    def forward(self, u, state=None):
        d_inner, groups_width = self.d_inner, self.ngroups * self.d_state
        z, xBC, dt = self.in_proj(u).split([d_inner, d_inner + 2 * groups_width, self.heads], dim=-1)
        xBC, conv = self.conv1d(xBC, None if state is None else state["conv"])
        x, B, C = F.silu(xBC).split([d_inner, groups_width, groups_width], dim=-1)
        dt = F.softplus(dt + self.dt_bias)  # [B, T, H]
        x = heads_of(x, self.heads)
        S = None if state is None else state["S"]
        o, S = gated_linear_recurrence(
            self.per_head(C), self.per_head(B), x * dt[..., None], -dt * torch.exp(self.A_log), 1.0, S
        )
        y = (o + x * self.D[:, None]).flatten(-2) * F.silu(z)
        # RMSNorm(norm_before_gate=False) within each group of d_inner / ngroups channels, then the weight.
        grouped = heads_of(y, self.ngroups)
        normed = rms_norm(grouped, 1.0, self.norm.eps).flatten(-2) * self.norm.weight
        return self.out_proj(normed), {"S": S, "conv": conv}


class GSA(nn.Module):
    """Gated slot attention (Zhang et al.; fla/layers/gsa.py, fla/ops/gsa/naive.py): M memory slots per head
    with a forget gate alpha = exp(logsigmoid(f_proj x) / gate_logit_normalizer) per slot and the write
    weight s = 1 - alpha, read twice with a softmax over the slots between:

        pass 1: Sk_t = diag(alpha_t) Sk_{t-1} + s_t k_t^T  ([M, K]),  scores_t = Sk_t q_t
        pass 2: Sv_t = diag(alpha_t) Sv_{t-1} + s_t v_t^T  ([M, V]),  o_t = Sv_t^T softmax(scores_t)

    with q, k = phi(.) (silu or relu), v = silu(v_proj x); y = o_proj(RMSNorm(silu(o))) over all heads. Slot
    m of pass 1 is a scalar-decay recurrence of its own (keys k, one value s[m]), which is how it runs here
    and in StateLab. State: Sk [B, H, M, K] (fla's hk transposed) and Sv [B, H, M, V].
    """

    def __init__(
        self,
        d_model,
        num_heads=4,
        expand_k=1,
        expand_v=1,
        num_slots=0,
        gate_logit_normalizer=8,
        feature_map="swish",
        norm_eps=1e-5,
        chunk_size="32",
    ):
        super().__init__()
        self.heads, self.gate_logit_normalizer, self.feature_map = num_heads, gate_logit_normalizer, feature_map
        self.head_k, self.head_v = matrix_head_dims(num_heads, d_model * expand_k, d_model * expand_v)
        self.slots = num_slots or self.head_k
        self.q_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.k_proj = linear(d_model, num_heads * self.head_k, std=0.02)
        self.v_proj = linear(d_model, num_heads * self.head_v, std=0.02)
        self.f_proj = linear(d_model, num_heads * self.slots, std=0.02)
        self.g_norm = Norm(num_heads * self.head_v, "rms", norm_eps)
        self.o_proj = linear(num_heads * self.head_v, d_model, std=0.02)

    def forward(self, x, state=None):
        batch, length, _ = x.shape
        heads, slots, head_k = self.heads, self.slots, self.head_k
        phi = F.relu if self.feature_map == "relu" else F.silu
        q = phi(heads_of(self.q_proj(x), heads))
        k = phi(heads_of(self.k_proj(x), heads))
        v = F.silu(heads_of(self.v_proj(x), heads))
        log_alpha = heads_of(F.logsigmoid(self.f_proj(x)) / self.gate_logit_normalizer, heads)  # [B, T, H, M]
        s = -torch.expm1(log_alpha)  # 1 - alpha without cancellation near alpha = 1

        # Pass 1 as H * M scalar-decay heads with value width 1: state [B, H M, K, 1] = Sk.
        def per_slot(t):
            return t[:, :, :, None].expand(batch, length, heads, slots, head_k).reshape(batch, length, -1, head_k)

        Sk = None if state is None else state["Sk"].reshape(batch, heads * slots, head_k, 1)
        scores, Sk = gated_linear_recurrence(
            per_slot(q), per_slot(k), s.reshape(batch, length, -1, 1), log_alpha.flatten(2), 1.0, Sk
        )
        weights = torch.softmax(scores.view(batch, length, heads, slots), dim=-1)
        Sv = None if state is None else state["Sv"]
        o, Sv = gated_linear_recurrence(weights, s, v, log_alpha, 1.0, Sv)
        y = self.o_proj(self.g_norm(F.silu(o.flatten(-2))))
        return y, {"Sk": Sk.view(batch, heads, slots, head_k), "Sv": Sv}
