"""GAN losses as pure functions of the discriminator's logits.

A `GANLoss` is a pair of functions:
  discriminator(real_logits, fake_logits, key) -> scalar
  generator(fake_logits, key) -> scalar
`key` is a fresh PRNG key the step hands over (for label noise and the like); a loss that needs
none ignores it. Each loss states how it reads the logit. A new loss is a new `GANLoss` value:
nothing in `step.py` changes. Penalties on the discriminator's gradients are regularizers
(`jaxgan.regularizers`), added to the discriminator's loss by the step.
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


def non_saturating() -> GANLoss:
  """Goodfellow et al.'s cross-entropy with the generator's non-saturating loss -log D(G(z)).

  The logit says "real"."""
  return GANLoss(
      discriminator=lambda real, fake, key: (jax.nn.softplus(-real).mean()
                                             + jax.nn.softplus(fake).mean()),
      generator=lambda fake, key: jax.nn.softplus(-fake).mean())


def minimax() -> GANLoss:
  """The original minimax game: the generator minimises log(1 - D(G(z))), which saturates
  when the discriminator wins. The logit says "real"."""
  return non_saturating()._replace(generator=lambda fake, key: -jax.nn.softplus(fake).mean())


def hinge() -> GANLoss:
  """Hinge loss (Lim & Ye; SAGAN, BigGAN). The logit is a score, higher for real."""
  return GANLoss(
      discriminator=lambda real, fake, key: (jax.nn.relu(1 - real).mean()
                                             + jax.nn.relu(1 + fake).mean()),
      generator=lambda fake, key: -fake.mean())


def wasserstein() -> GANLoss:
  """WGAN's critic loss E[D(fake)] - E[D(real)]; needs a Lipschitz constraint (the gradient
  penalty of `jaxgan.regularizers`, or spectral normalization). The logit is a score."""
  return GANLoss(discriminator=lambda real, fake, key: fake.mean() - real.mean(),
                 generator=lambda fake, key: -fake.mean())


def least_squares() -> GANLoss:
  """LSGAN (Mao et al.), targets real = 1, fake = 0: 1/2 of squared errors. The logit is a
  score regressed onto those targets."""
  return GANLoss(
      discriminator=lambda real, fake, key: 0.5 * (jnp.square(real - 1).mean()
                                                   + jnp.square(fake).mean()),
      generator=lambda fake, key: 0.5 * jnp.square(fake - 1).mean())


# Config names -> factories; `seed_bce` takes the config's label_noise, the others nothing.
LOSSES = {'seed_bce': seed_bce, 'non_saturating': non_saturating, 'minimax': minimax,
          'hinge': hinge, 'wasserstein': wasserstein, 'least_squares': least_squares}
