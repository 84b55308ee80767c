"""Useful FLOPs of one DCGAN train step, counted analytically from the config.

A multiply-add is 2 FLOPs. A convolution counts every kernel tap at every output pixel, as a
library computes it ('same' padding included); a transposed convolution at stride s with a k x k
kernel makes (k/s)^2 products per output pixel. The step is the seed's: the discriminator trains
on B fakes and B reals (forward, weight and input gradients; no input gradient at the images),
the generator on B fresh fakes (forward of both networks, input gradients through the
discriminator, weight and input gradients of the generator but not at the latents). Weight and
input gradients each cost what the forward costs. Elementwise work (activations, the loss,
Adam) is left out: it is under 1% here.
"""


def forward_flops(config) -> tuple[list[int], list[int]]:
  """Per-image forward FLOPs of each generator and each discriminator layer."""
  def conv(out_size, kernel_taps, c_in, c_out):
    return 2 * out_size * out_size * kernel_taps * c_in * c_out

  size, generator = config.g_base, [2 * config.latent_dim * config.g_base ** 2
                                    * config.g_dense_features]
  c_in = config.g_dense_features
  for width in config.g_widths:
    size *= 2
    generator.append(conv(size, 2 * 2, c_in, width))  # k4 s2: 2x2 taps per output pixel
    c_in = width
  generator.append(conv(size, 5 * 5, c_in, config.channels))

  discriminator, c_in = [], config.channels
  for width in config.d_widths:
    size //= 2
    discriminator.append(conv(size, 4 * 4, c_in, width))
    c_in = width
  discriminator.append(2 * size * size * c_in)
  return generator, discriminator


def step_flops(config) -> int:
  """Useful FLOPs of one train step at `config.batch_size` (one critic update)."""
  g, d = forward_flops(config)
  d_update = sum(g) + 2 * (sum(d) + sum(d) + sum(d[1:]))
  g_update = sum(g) + sum(d) + sum(d) + sum(g) + sum(g[1:])
  return config.batch_size * (d_update + g_update)
