"""GAN losses as pure functions of the discriminator's logits.

A `GANLoss` is a pair of functions:
  discriminator(real_logits, fake_logits, key) -> scalar
  generator(fake_logits, key) -> scalar
`key` is a fresh PRNG key the step hands over (for label noise and the like); a loss that needs
none ignores it. Each loss states how it reads the logit. A new loss is a new `GANLoss` value:
nothing in `step.py` changes.
"""

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class GANLoss(NamedTuple):
  discriminator: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
  generator: Callable[[jax.Array, jax.Array], jax.Array]


def seed_bce(label_noise: float = 0.05) -> GANLoss:
  """The seed's recipe: binary cross-entropy where the logit says "generated".

  As in the keras.io example: generated images are labelled 1 and real ones 0, and
  `label_noise * U(0, 1)` is added to every discriminator label; the generator is trained toward
  the "real" label 0. The loss is averaged over the concatenated real and generated batch.
  Computed from logits (`log(1 + exp(-|x|))` form), not from clipped probabilities.
  """

  def discriminator(real_logits, fake_logits, key):
    logits = jnp.concatenate([fake_logits, real_logits])
    labels = jnp.concatenate([jnp.ones_like(fake_logits), jnp.zeros_like(real_logits)])
    labels = labels + label_noise * jax.random.uniform(key, labels.shape)
    return optax.sigmoid_binary_cross_entropy(logits, labels).mean()

  def generator(fake_logits, key):
    del key
    return optax.sigmoid_binary_cross_entropy(fake_logits, jnp.zeros_like(fake_logits)).mean()

  return GANLoss(discriminator, generator)


LOSSES = {'seed_bce': seed_bce}
