"""Small MLPs for low-dimensional data: the 2-D mixtures of the mode-collapse benchmark."""

from collections.abc import Sequence

import jax.numpy as jnp
from flax import linen as nn

from jaxgan.nets.dcgan import normalized


class Generator(nn.Module):
  """latent -> [Dense, ReLU]* -> Dense(features): a point, unbounded."""

  widths: Sequence[int] = (256, 256, 256)
  features: int = 2

  @nn.compact
  def __call__(self, z):
    x = z
    for width in self.widths:
      x = nn.relu(nn.Dense(width)(x))
    return nn.Dense(self.features)(x)


class Discriminator(nn.Module):
  """point -> [Dense, LeakyReLU 0.2]* -> Dense(1): one logit (optionally spectrally normalized).
  `train` is accepted for the step's interface; there is no dropout."""

  widths: Sequence[int] = (256, 256, 256)
  spectral_norm: bool = False

  @nn.compact
  def __call__(self, x, train: bool, update_stats: bool = False):
    del train
    for width in self.widths:
      x = nn.leaky_relu(normalized(nn.Dense(width), self.spectral_norm, x, update_stats), 0.2)
    return normalized(nn.Dense(1), self.spectral_norm, x, update_stats)[:, 0].astype(jnp.float32)
