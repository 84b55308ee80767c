"""Small MLPs for low-dimensional data: the 2-D mixtures of the mode-collapse benchmark."""

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgan.nets.dcgan import normalized


class Generator(nn.Module):
  """latent -> [Dense, ReLU]* -> Dense(features): a point, unbounded."""

  widths: Sequence[int] = (256, 256, 256)
  features: int = 2
  dtype: Any = None

  @nn.compact
  def __call__(self, z):
    x = z
    for width in self.widths:
      x = nn.relu(nn.Dense(width, dtype=self.dtype)(x))
    return nn.Dense(self.features, dtype=self.dtype)(x).astype(jnp.float32)


class Discriminator(nn.Module):
  """point -> [Dense, LeakyReLU 0.2]* -> Dense(1): one logit (optionally spectrally normalized).
  `train` is accepted for the step's interface; there is no dropout."""

  widths: Sequence[int] = (256, 256, 256)
  spectral_norm: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, x, *, train: bool, update_stats: bool = False):
    del train
    for width in self.widths:
      dense = nn.Dense(width, dtype=self.dtype)
      x = nn.leaky_relu(normalized(dense, self.spectral_norm, x, update_stats), 0.2)
    logit = normalized(nn.Dense(1, dtype=self.dtype), self.spectral_norm, x, update_stats)
    return logit[:, 0].astype(jnp.float32)
