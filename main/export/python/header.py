import math

import torch
import torch.nn.functional as F
from torch import nn


# Shared pieces ---------------------------------------------------------------------------------------


def rms_norm(x, weight, eps):
    """RMSNorm over the last axis: x / sqrt(mean(x^2) + eps) * weight."""
    return x * torch.rsqrt(x.pow(2).mean(-1, keepdim=True) + eps) * weight


def l2_normalize(x, eps=1e-6):
    """x / sqrt(sum(x^2) + eps) over the last axis (the delta rule's queries and keys)."""
    return x * torch.rsqrt(x.pow(2).sum(-1, keepdim=True) + eps)


def diagonal_scan(a, b, h=None):
    """h_t = a_t * h_{t-1} + b_t along axis 1, elementwise; a, b: [B, T, ...]. Returns all h_t and the last.

    A plain loop over time: easy to read and to check. (StateLab trains this with a parallel scan; the
    numbers agree to float32 rounding.)
    """
    if h is None:
        h = torch.zeros_like(b[:, 0])
    hs = []
    for t in range(b.shape[1]):
        h = a[:, t] * h + b[:, t]
        hs.append(h)
    return torch.stack(hs, dim=1), h


def uniform_(tensor, fan_in):
    """PyTorch's nn.Linear / nn.Conv1d default: U(-1/sqrt(fan_in), 1/sqrt(fan_in))."""
    bound = 1 / math.sqrt(fan_in)
    return nn.init.uniform_(tensor, -bound, bound)


def linear(in_features, out_features, bias=False, std=None):
    """nn.Linear; with `std`, normal(0, std) weights as fla's layers initialize them."""
    layer = nn.Linear(in_features, out_features, bias=bias)
    if std is not None:
        nn.init.normal_(layer.weight, std=std)
        if bias:
            nn.init.zeros_(layer.bias)
    return layer


class ShortConv(nn.Module):
    """Causal depthwise convolution over the last K inputs of each channel.

    weight is [channels, K] (StateLab's layout; nn.Conv1d's would be [channels, 1, K]). The state is the
    K-1 inputs before the current segment, oldest first: [B, K-1, channels].
    """

    def __init__(self, channels, kernel, bias=False):
        super().__init__()
        self.weight = nn.Parameter(uniform_(torch.empty(channels, kernel), kernel))
        self.bias = nn.Parameter(uniform_(torch.empty(channels), kernel)) if bias else None

    def forward(self, x, state=None):
        batch, _, channels = x.shape
        history = self.weight.shape[1] - 1
        if state is None:
            state = x.new_zeros(batch, history, channels)
        padded = torch.cat([state, x], dim=1)
        y = F.conv1d(padded.transpose(1, 2), self.weight.unsqueeze(1), self.bias, groups=channels)
        return y.transpose(1, 2), padded[:, padded.shape[1] - history :]


# Built-in nodes --------------------------------------------------------------------------------------


class Norm(nn.Module):
    """The graph's norm node: RMSNorm (weight) or LayerNorm (weight and bias) over the last axis."""

    def __init__(self, width, type="rms", eps=1e-6):
        super().__init__()
        self.type = type
        self.eps = eps
        self.weight = nn.Parameter(torch.ones(width))
        if type == "layer":
            self.bias = nn.Parameter(torch.zeros(width))

    def forward(self, x):
        if self.type == "layer":
            return F.layer_norm(x, x.shape[-1:], self.weight, self.bias, self.eps)
        return rms_norm(x, self.weight, self.eps)


class GatedMLP(nn.Module):
    """SwiGLU / GeGLU: down(act(gate(x)) * up(x))."""

    def __init__(self, width, hidden, activation="swiglu"):
        super().__init__()
        self.gate_proj = linear(width, hidden, std=0.02)
        self.up_proj = linear(width, hidden, std=0.02)
        self.down_proj = linear(hidden, width, std=0.02)
        self.activation = F.silu if activation == "swiglu" else F.gelu

    def forward(self, x):
        return self.down_proj(self.activation(self.gate_proj(x)) * self.up_proj(x))


class LMHead(nn.Module):
    """Hidden states to logits; a tied head reuses the embedding's weight and has no parameter."""

    def __init__(self, width, vocab_size, tied=True):
        super().__init__()
        self.tied = tied
        if not tied:
            self.weight = nn.Parameter(nn.init.normal_(torch.empty(vocab_size, width), std=0.02))

    def forward(self, x, embedding_weight):
        return F.linear(x, embedding_weight if self.tied else self.weight)
