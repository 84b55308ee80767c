"""The DCGAN family of the keras.io example `dcgan_overriding_train_step` ("the keras.io example").

Defaults are the keras.io example's 64x64 networks layer for layer: Keras initializers (Glorot
uniform kernels, zero biases), 'same' padding, LeakyReLU 0.2, dropout 0.2. The discriminator returns
the logit of its final Dense unit; the keras.io example's sigmoid is applied inside the loss, where
it is stable.
"""

from collections.abc import Sequence
from typing import Any

import jax.numpy as jnp
from flax import linen as nn

from jaxgan.nets.layers import PhaseConvTranspose, conv_for_backend

KERAS_KERNEL_INIT = nn.initializers.glorot_uniform()
LEAKY_SLOPE = 0.2


class Generator(nn.Module):
  """latent -> Dense -> (base, base, dense_features) -> [x2 upsample, LeakyReLU]* -> Conv, sigmoid.

  Class-conditional with `num_classes` (called `G(z, labels)`): a learned class embedding of
  `class_features` is concatenated to the latent, as in the conditional GAN of Mirza & Osindero
  and BigGAN's shared embedding.
  """

  channels: int = 3
  base: int = 8
  dense_features: int = 128
  widths: Sequence[int] = (128, 256, 512)
  out_kernel: int = 5
  num_classes: int = 0
  class_features: int = 32
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None):
    if self.num_classes:
      z = jnp.concatenate([z, nn.Embed(self.num_classes, self.class_features)(labels)], axis=-1)
    x = nn.Dense(self.base * self.base * self.dense_features, dtype=self.dtype,
                 kernel_init=KERAS_KERNEL_INIT)(z)
    x = x.reshape(z.shape[0], self.base, self.base, self.dense_features)
    for width in self.widths:
      x = PhaseConvTranspose(width, kernel_size=4, strides=2, dtype=self.dtype,
                             kernel_init=KERAS_KERNEL_INIT)(x)
      x = nn.leaky_relu(x, LEAKY_SLOPE)
    x = nn.Conv(self.channels, (self.out_kernel, self.out_kernel), padding='SAME',
                dtype=self.dtype, kernel_init=KERAS_KERNEL_INIT,
                conv_general_dilated=conv_for_backend())(x)
    return nn.sigmoid(x.astype(jnp.float32))


class Discriminator(nn.Module):
  """image -> [Conv 4x4 stride 2, LeakyReLU]* -> Flatten -> Dropout -> Dense(1): one logit.

  With `spectral_norm`, every layer's weight is divided by its largest singular value, estimated
  by one power iteration per training forward pass (Miyato et al. 2018); the iteration's vectors
  live in the 'batch_stats' collection and advance when `update_stats` is true.

  Class-conditional with `num_classes` (called `D(x, labels, train=...)`): the projection
  discriminator of Miyato & Koyama 2018, `D(x, y) = psi(phi(x)) + <embed(y), phi(x)>`, where
  phi(x) are the features the final Dense reads and psi that Dense; the embedding is spectrally
  normalized with the layers.
  """

  widths: Sequence[int] = (64, 128, 128)
  dropout: float = 0.2
  spectral_norm: bool = False
  num_classes: int = 0
  dtype: Any = None

  @nn.compact
  def __call__(self, x, labels=None, *, train: bool, update_stats: bool = False):
    for width in self.widths:
      conv = nn.Conv(width, (4, 4), strides=(2, 2), padding='SAME', dtype=self.dtype,
                     kernel_init=KERAS_KERNEL_INIT, conv_general_dilated=conv_for_backend())
      x = normalized(conv, self.spectral_norm, x, update_stats)
      x = nn.leaky_relu(x, LEAKY_SLOPE)
    x = x.reshape(x.shape[0], -1)
    x = nn.Dropout(self.dropout, deterministic=not train)(x)
    logits = normalized(nn.Dense(1, dtype=self.dtype, kernel_init=KERAS_KERNEL_INIT),
                        self.spectral_norm, x, update_stats)[:, 0]
    if self.num_classes:
      embed = nn.Embed(self.num_classes, x.shape[-1], dtype=self.dtype)
      logits += jnp.sum(normalized(embed, self.spectral_norm, labels, update_stats) * x, axis=-1)
    return logits.astype(jnp.float32)


def normalized(layer: nn.Module, spectral_norm: bool, x, update_stats: bool):
  """`layer(x)`, spectrally normalized when asked (call inside a compact module)."""
  if spectral_norm:
    return nn.SpectralNorm(layer)(x, update_stats=update_stats)
  return layer(x)
