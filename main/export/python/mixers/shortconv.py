class ShortConvMixer(nn.Module):
    """Short convolution mixer: each channel sees its last `kernel` inputs (H3/Based-style local mixing)."""

    def __init__(self, d_model, kernel=4, bias=False):
        super().__init__()
        self.conv = ShortConv(d_model, kernel, bias=bias)

    def forward(self, x, state=None):
        y, conv = self.conv(x, None if state is None else state["conv"])
        return y, {"conv": conv}
