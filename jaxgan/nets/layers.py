"""Shared layers.

`PhaseConvTranspose` is a drop-in replacement for `flax.linen.ConvTranspose` (same parameters,
same output) that XLA runs as one ordinary stride-1 convolution. On XLA:CPU the weight gradient
of `lax.conv_transpose` takes a path tens of times slower than an ordinary convolution; the
phase (sub-pixel) decomposition avoids it on every backend.
"""

from collections.abc import Callable

import jax.numpy as jnp
from flax import linen as nn
from jax import lax


def _phase_plan(kernel: int, stride: int):
  """For a 'SAME' transposed conv: the kernel taps each output phase uses, and where it reads.

  Output row o = stride * m + p reads input row m + start[p] + i with kernel tap
  first_tap[p] + stride * i, for i < kernel // stride (from `lax.conv_transpose`'s padding).
  """
  pad_len = kernel + stride - 2
  pad_before = kernel - 1 if stride > kernel - 1 else -(-pad_len // 2)
  first_tap = [(pad_before - p) % stride for p in range(stride)]
  start = [(p + t - pad_before) // stride for p, t in zip(range(stride), first_tap)]
  return first_tap, start


class PhaseConvTranspose(nn.Module):
  """Transposed 2-D convolution, 'SAME' padding, kernel a multiple of the stride.

  Parameters have `nn.ConvTranspose`'s names, shapes and meaning (kernel `(k, k, in, out)`,
  `transpose_kernel=False`), so parameters load from and into either layer unchanged. The
  `s * s` output phases are computed by one convolution with a `(k/s, k/s)` kernel and
  `s * s * out` channels, then interleaved (depth-to-space).
  """

  features: int
  kernel_size: int = 4
  strides: int = 2
  use_bias: bool = True
  dtype: jnp.dtype | None = None
  kernel_init: Callable = nn.initializers.lecun_normal()
  bias_init: Callable = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, x):
    k, s = self.kernel_size, self.strides
    if k % s:
      raise ValueError(f'kernel_size {k} must be a multiple of strides {s}')
    kernel = self.param('kernel', self.kernel_init, (k, k, x.shape[-1], self.features))
    bias = self.param('bias', self.bias_init, (self.features,)) if self.use_bias else None
    x, kernel, bias = nn.dtypes.promote_dtype(x, kernel, bias, dtype=self.dtype)

    first_tap, start = _phase_plan(k, s)
    window = k // s
    # Tap t = s * i + r sits at [i, r]; phase p uses remainder r = first_tap[p]. Static slices
    # (not a gather) keep the weight gradient an ordinary convolution's.
    by_tap = kernel.reshape(window, s, window, s, *kernel.shape[2:])
    phase_kernel = jnp.stack(
        [jnp.stack([by_tap[:, rh, :, rw] for rw in first_tap], axis=-2) for rh in first_tap],
        axis=-3)  # (window, window, in, s, s, out)
    phase_kernel = phase_kernel.reshape(window, window, x.shape[-1], s * s * self.features)
    lo, hi = min(start), max(start)
    pad = (-lo, hi + window - 1)
    # Padding explicitly, not inside the convolution: XLA:CPU's weight gradient of a padded
    # convolution takes a slow path (~50x here), that of a 'VALID' one does not.
    x_padded = jnp.pad(x, ((0, 0), pad, pad, (0, 0)))
    y = lax.conv_general_dilated(
        x_padded, phase_kernel, (1, 1), 'VALID', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    n, h, w = x.shape[:3]
    y = y.reshape(*y.shape[:3], s, s, self.features)
    shift = [p_start - lo for p_start in start]
    rows = [
        jnp.stack([y[:, shift[ph]:shift[ph] + h, shift[pw]:shift[pw] + w, ph, pw]
                   for pw in range(s)], axis=3)
        for ph in range(s)
    ]
    y = jnp.stack(rows, axis=2).reshape(n, h * s, w * s, self.features)
    return y if bias is None else y + bias
