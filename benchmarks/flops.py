"""Useful FLOPs of one DCGAN train step, counted analytically from the config.

A multiply-add is 2 FLOPs, and only products with real input pixels count: not those with
'same' padding, nor with the zeros a transposed convolution inserts between pixels. That is how
XLA's cost analysis counts `nn.Conv`, `nn.ConvTranspose` and `nn.Dense`, and
`tests/test_benchmarks.py` checks every layer against it. The step is the keras.io example's: the
discriminator trains on B fakes and B reals (forward, weight and input gradients; no input
gradient at the images), the generator on B fresh fakes (forward of both networks, input
gradients through the discriminator, weight and input gradients of the generator but not at the
latents). Weight and input gradients each cost what the forward costs. Elementwise work
(activations, the loss, Adam) is left out: it is under 1% here.
"""


def taps_1d(size: int, kernel: int, stride: int, transpose: bool) -> int:
  """Along one axis of a 'SAME' (transposed) convolution: (output position, kernel tap) pairs
  that read a real input pixel."""
  if transpose:  # a convolution over the input with stride-1 gaps, padded as lax.conv_transpose
    out, dilated, step = size * stride, (size - 1) * stride + 1, stride
    pad_len = kernel + stride - 2
    before = kernel - 1 if stride > kernel - 1 else -(-pad_len // 2)
    positions = [o + i - before for o in range(out) for i in range(kernel)]
  else:
    out, dilated, step = -(-size // stride), size, 1
    before = max((out - 1) * stride + kernel - size, 0) // 2
    positions = [o * stride + i - before for o in range(out) for i in range(kernel)]
  return sum(0 <= p < dilated and p % step == 0 for p in positions)


def forward_flops(config) -> tuple[list[int], list[int]]:
  """Per-image forward FLOPs of each generator and each discriminator layer."""
  def conv(size, kernel, stride, c_in, c_out, transpose=False):
    return 2 * taps_1d(size, kernel, stride, transpose) ** 2 * c_in * c_out

  size, c_in = config.g_base, config.g_dense_features
  generator = [2 * config.latent_dim * size * size * c_in]
  for width in config.g_widths:
    generator.append(conv(size, 4, 2, c_in, width, transpose=True))
    size, c_in = size * 2, width
  generator.append(conv(size, 5, 1, c_in, config.channels))

  discriminator, c_in = [], config.channels
  for width in config.d_widths:
    discriminator.append(conv(size, 4, 2, c_in, width))
    size, c_in = -(-size // 2), width
  discriminator.append(2 * size * size * c_in)
  return generator, discriminator


def step_flops(config) -> int:
  """Useful FLOPs of one train step at `config.batch_size` (one critic update)."""
  g, d = forward_flops(config)
  d_update = sum(g) + 2 * (sum(d) + sum(d) + sum(d[1:]))
  g_update = sum(g) + sum(d) + sum(d) + sum(g) + sum(g[1:])
  return config.batch_size * (d_update + g_update)
