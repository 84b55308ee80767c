"""GAN losses as pure functions of the discriminator's logits.

A `GANLoss` is a pair of functions:
  discriminator(real_logits, fake_logits, key) -> scalar
  generator(fake_logits, key) -> scalar
`key` is a fresh PRNG key the step hands over (for label noise and the like); a loss that needs
none ignores it. Each loss states how it reads the logit, and says which logits mean "real"
(`says_real`, for the discriminator's accuracy in `equilibrium`) where its output has a
decision boundary. A new loss is a new `GANLoss` value:
no game changes. Penalties on a network's gradients are regularizers (`jaxgan.regularizers`),
added to that network's loss by the game.
"""

import functools
import math
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax


class GANLoss(NamedTuple):
  discriminator: Callable[[jax.Array, jax.Array, jax.Array], jax.Array]
  # (fake_logits, key), or for a loss of pairs (fake_logits, key, real_logits)
  generator: Callable[..., jax.Array]
  # logits -> bool: the samples the discriminator classifies as real; None for a critic whose
  # score has no decision boundary (WGAN's)
  says_real: Callable[[jax.Array], jax.Array] | None = None
  # a relativistic loss: the i-th generated sample is judged against the i-th real one, on both
  # sides, so the generator's loss takes the critic's logits of a real batch too
  pairs: bool = False


def equilibrium(loss: GANLoss, real_logits: jax.Array, fake_logits: jax.Array,
                prefix: str = 'd') -> dict[str, jax.Array]:
  """The discriminator's side of the game's balance, in the numbers people diagnose it by: the
  mean of its outputs on the real and on the generated samples it saw (`PREFIX/real_logit`,
  `PREFIX/fake_logit`) and, where the loss has a decision boundary, the fraction of each it
  classifies right (`PREFIX/real_accuracy`, `PREFIX/fake_accuracy`). A discriminator that wins
  has both accuracies near 1; near the equilibrium they fall toward 1/2."""
  metrics = {f'{prefix}/real_logit': real_logits.mean(),
             f'{prefix}/fake_logit': fake_logits.mean()}
  if loss.says_real is not None:
    fraction_real = lambda logits: loss.says_real(logits).mean(dtype=jnp.float32)
    metrics[f'{prefix}/real_accuracy'] = fraction_real(real_logits)
    metrics[f'{prefix}/fake_accuracy'] = 1.0 - fraction_real(fake_logits)
  if loss.pairs:  # the fraction of pairs the critic orders right (R3GAN's Loss/signs/real)
    metrics[f'{prefix}/pair_accuracy'] = (real_logits > fake_logits).mean(dtype=jnp.float32)
  return metrics


def _positive(logits: jax.Array) -> jax.Array:
  return logits > 0


def _nearer_one(outputs: jax.Array) -> jax.Array:
  """Least squares' decision: an output nearer the real target 1 than the generated one, 0."""
  return outputs > 0.5


def keras_bce(label_noise: float = 0.05) -> GANLoss:
  """The keras.io example's recipe: binary cross-entropy where the logit says "generated".

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

  return GANLoss(discriminator, generator, says_real=lambda logits: logits < 0)


def non_saturating() -> GANLoss:
  """Goodfellow et al.'s cross-entropy with the generator's non-saturating loss -log D(G(z)).

  The logit says "real"."""
  return GANLoss(
      discriminator=lambda real, fake, key: (jax.nn.softplus(-real).mean()
                                             + jax.nn.softplus(fake).mean()),
      generator=lambda fake, key: jax.nn.softplus(-fake).mean(), says_real=_positive)


def minimax() -> GANLoss:
  """The original minimax game: the generator minimises log(1 - D(G(z))), which saturates
  when the discriminator wins. The logit says "real"."""
  return non_saturating()._replace(generator=lambda fake, key: -jax.nn.softplus(fake).mean())


def hinge() -> GANLoss:
  """Hinge loss (Lim & Ye; SAGAN, BigGAN). The logit is a score, higher for real."""
  return GANLoss(
      discriminator=lambda real, fake, key: (jax.nn.relu(1 - real).mean()
                                             + jax.nn.relu(1 + fake).mean()),
      generator=lambda fake, key: -fake.mean(), says_real=_positive)


def wasserstein(drift: float = 0.0) -> GANLoss:
  """WGAN's critic loss E[D(fake)] - E[D(real)]; needs a Lipschitz constraint (the gradient
  penalty of `jaxgan.regularizers`, or spectral normalization). The logit is a score.

  `drift`: progressive growing's epsilon_drift (Karras et al. 2018; 0.001 in
  progressive_growing_of_gans' `loss.D_wgangp_acgan`), `drift * E[D(real)^2]` added to the
  critic's loss so that its scores on real images do not wander far from zero."""
  def discriminator(real, fake, key):
    del key
    loss = fake.mean() - real.mean()
    return loss + drift * jnp.square(real).mean() if drift else loss
  return GANLoss(discriminator, generator=lambda fake, key: -fake.mean())


def least_squares() -> GANLoss:
  """LSGAN (Mao et al.), targets real = 1, fake = 0: 1/2 of squared errors. The logit is a
  score regressed onto those targets."""
  return GANLoss(
      discriminator=lambda real, fake, key: 0.5 * (jnp.square(real - 1).mean()
                                                   + jnp.square(fake).mean()),
      generator=lambda fake, key: 0.5 * jnp.square(fake - 1).mean(), says_real=_nearer_one)


def lsgan() -> GANLoss:
  """pytorch-CycleGAN-and-pix2pix's `GANLoss('lsgan')` (`models/networks.py`): the mean
  squared error to the target 1 (real) or 0 (generated), without LSGAN's 1/2s; its models halve
  the discriminator's sum themselves (`backward_D_basic`), as `games.cycle` and `games.paired`
  do."""
  return GANLoss(
      discriminator=lambda real, fake, key: (jnp.square(real - 1).mean()
                                             + jnp.square(fake).mean()),
      generator=lambda fake, key: jnp.square(fake - 1).mean(), says_real=_nearer_one)


def relativistic() -> GANLoss:
  """RpGAN, the relativistic pairing loss (Jolicoeur-Martineau 2019) that R3GAN trains with
  (brownvc/R3GAN, `R3GAN/Trainer.py`, `AdversarialTraining`): the critic is asked how much more
  real the i-th real sample looks than the i-th generated one, `softplus(-(D(real) - D(fake)))`,
  and the generator the mirror, `softplus(-(D(fake) - D(real)))`, with the real logits those of
  the critic as it stands (no gradient reaches it through them). With R1 and R2 on the critic
  (`jaxgan.regularizers`) the game converges locally (Huang et al. 2024). The logits are scores
  of pairs: no decision boundary of one sample; `d/pair_accuracy` is the fraction ordered
  right."""
  return GANLoss(
      discriminator=lambda real, fake, key: jax.nn.softplus(fake - real).mean(),
      generator=lambda fake, key, real: jax.nn.softplus(real - fake).mean(), pairs=True)


class FDivergence(NamedTuple):
  """One row of the f-GAN table (Nowozin, Cseke & Tomioka 2016, Tables 1 and 2).

  `f` is the convex generator of D_f(P || Q) = E_Q[f(p/q)]; `activation` is the output activation
  g_f mapping a logit v into the domain of the convex conjugate; `conjugate` is f*(t) = sup_u
  (u t - f(u)); `conjugate_of_activation(v)` is f*(g_f(v)), written in a form that stays finite
  where composing the two would not.
  """
  f: Callable[[jax.Array], jax.Array]
  activation: Callable[[jax.Array], jax.Array]
  conjugate: Callable[[jax.Array], jax.Array]
  conjugate_of_activation: Callable[[jax.Array], jax.Array]


LOG2 = math.log(2.0)  # not jnp: importing jaxgan must not start a JAX backend
F_DIVERGENCES = {
    'kl': FDivergence(
        f=lambda u: u * jnp.log(u), activation=lambda v: v,
        conjugate=lambda t: jnp.exp(t - 1), conjugate_of_activation=lambda v: jnp.exp(v - 1)),
    'reverse_kl': FDivergence(
        f=lambda u: -jnp.log(u), activation=lambda v: -jnp.exp(-v),
        conjugate=lambda t: -1 - jnp.log(-t), conjugate_of_activation=lambda v: v - 1),
    'pearson': FDivergence(
        f=lambda u: jnp.square(u - 1), activation=lambda v: v,
        conjugate=lambda t: jnp.square(t) / 4 + t,
        conjugate_of_activation=lambda v: jnp.square(v) / 4 + v),
    'squared_hellinger': FDivergence(
        f=lambda u: jnp.square(jnp.sqrt(u) - 1), activation=lambda v: 1 - jnp.exp(-v),
        conjugate=lambda t: t / (1 - t), conjugate_of_activation=lambda v: jnp.expm1(v)),
    'jensen_shannon': FDivergence(
        f=lambda u: -(u + 1) * jnp.log((1 + u) / 2) + u * jnp.log(u),
        activation=lambda v: LOG2 - jax.nn.softplus(-v),
        conjugate=lambda t: -jnp.log(2 - jnp.exp(t)),
        conjugate_of_activation=lambda v: jax.nn.softplus(v) - LOG2),
}


def f_gan(divergence: str) -> GANLoss:
  """f-GAN (Nowozin et al. 2016): the critic maximises the variational lower bound
  F = E_P[g_f(v_real)] - E_Q[f*(g_f(v_fake))] <= D_f(P || Q), tight when g_f(v) = f'(p/q); the
  generator maximises E_Q[g_f(v_fake)] (the paper's alternative to minimising F, which it found
  to train better, as the non-saturating loss does for the original GAN). `divergence` is a key
  of `F_DIVERGENCES`. At the critic's optimum, -d/loss estimates D_f(P || Q). The optimal
  g_f(v) is f'(p/q), which exceeds f'(1) exactly where p > q: the decision "real"."""
  row = F_DIVERGENCES[divergence]
  return GANLoss(
      discriminator=lambda real, fake, key: (row.conjugate_of_activation(fake).mean()
                                             - row.activation(real).mean()),
      generator=lambda fake, key: -row.activation(fake).mean(),
      says_real=lambda logits: row.activation(logits) > jax.grad(row.f)(1.0))


# Config names -> factories; `keras_bce` takes the config's label_noise, `wasserstein` its drift,
# the others nothing.
LOSSES = {'keras_bce': keras_bce, 'non_saturating': non_saturating, 'minimax': minimax,
          'hinge': hinge, 'wasserstein': wasserstein, 'least_squares': least_squares,
          'lsgan': lsgan, 'relativistic': relativistic,
          **{f'f_{name}': functools.partial(f_gan, name) for name in F_DIVERGENCES}}
