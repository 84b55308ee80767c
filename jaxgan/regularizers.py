"""Regularizers: pure penalties added to a network's loss, on either side of the game.

A `Regularizer` is a pair of pure functions, in the style of optax's GradientTransformation:
  init() -> state
  apply(state, view, key, step) -> (penalty, new_state)
`view` is what the penalty may look at, built by the game at the parameters being
differentiated (so a penalty on input gradients is differentiated through, double backprop):
a `CriticView` on the discriminator's side (R1, the gradient penalty), a `GeneratorView` on the
generator's (path length; pix2pix's L1 to the target). `key` is a fresh PRNG key, `step` the
training step. The state lives in `GANState.pieces` under the game's name for the regularizer;
stateless regularizers use `()`. `chain(name=regularizer, ...)` sums several and keeps their
states by name, so adding one moves no other's place in a checkpoint.
"""

import math
from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class CriticView(NamedTuple):
  """What a discriminator-side penalty sees. `critic(samples) -> logits` (conditioned on the
  real samples' labels; with an augmentation, the critic of augmented samples, a draw of its
  own), the `real` and `fake` samples before augmentation,
  the update's `batch`, and `mean(values)`: the mean of per-example values over the global
  batch (for state that must stay equal on every device)."""
  critic: Callable[[jax.Array], jax.Array]
  real: jax.Array
  fake: jax.Array
  batch: dict
  mean: Callable[[jax.Array], jax.Array]


class GeneratorView(NamedTuple):
  """What a generator-side penalty sees. `generate(codes) -> samples` (with the step's labels
  and noise), the `codes` it was called with, `fake = generate(codes)`, the update's `batch`
  and `mean` as in `CriticView`."""
  generate: Callable[[jax.Array], jax.Array]
  codes: jax.Array
  fake: jax.Array
  batch: dict
  mean: Callable[[jax.Array], jax.Array]


class Regularizer(NamedTuple):
  """`every`: the steps it applies on (lazy regularization: a penalty computed every N steps,
  scaled by N); a game that gives regularizers their own optimizer steps runs them then."""
  init: Callable[[], Any]
  apply: Callable[..., tuple[jax.Array, Any]]
  every: int = 1


def stateless(penalty: Callable[..., jax.Array], every: int = 1) -> Regularizer:
  """A `Regularizer` from `penalty(view, key, step) -> scalar`."""
  return Regularizer(init=lambda: (),
                     apply=lambda state, *args: (penalty(*args), state), every=every)


def chain(**regularizers: Regularizer) -> Regularizer:
  """The sum of several regularizers (in the order given, each with its own key); its state is
  the dict of theirs by name, its interval the greatest common divisor of theirs."""
  def init():
    return {name: r.init() for name, r in regularizers.items()}

  def apply(states, view, key, step):
    keys = jax.random.split(key, max(len(regularizers), 1))
    total, new_states = jnp.zeros((), jnp.float32), {}
    for (name, regularizer), k in zip(regularizers.items(), keys):
      penalty, new_states[name] = regularizer.apply(states[name], view, k, step)
      total = total + penalty
    return total, new_states

  return Regularizer(init, apply, math.gcd(*(r.every for r in regularizers.values())))


def lazy(value: Callable[[], tuple[jax.Array, Any]], every: int, step: jax.Array,
         state: Any = ()) -> tuple[jax.Array, Any]:
  """StyleGAN2's lazy regularization: `value() -> (penalty, new_state)` on steps divisible by
  `every`, its penalty scaled by `every` (the same weight on average for a fraction of the
  cost); `(0, state)` on the other steps."""
  if every == 1:
    return value()

  def scaled():
    penalty, new_state = value()
    return every * penalty, new_state
  return jax.lax.cond(step % every == 0, scaled, lambda: (jnp.zeros((), jnp.float32), state))


def _input_gradients(critic, images):
  """d(sum of logits)/d(images): each image's gradient of its own logit."""
  return jax.grad(lambda x: critic(x).sum())(images)


def _squared_norms(gradients):
  return jnp.sum(jnp.square(gradients).reshape(gradients.shape[0], -1), axis=1)


def gradient_penalty(weight: float = 10.0, target: float = 1.0) -> Regularizer:
  """WGAN-GP (Gulrajani et al. 2017): weight * E[(|grad D(x)| - target)^2] at random points x
  on the lines between real and generated samples."""
  def penalty(view: CriticView, key, step):
    del step
    shape = (view.real.shape[0],) + (1,) * (view.real.ndim - 1)
    alpha = jax.random.uniform(key, shape)
    between = alpha * view.real + (1 - alpha) * jax.lax.stop_gradient(view.fake)
    norms = jnp.sqrt(_squared_norms(_input_gradients(view.critic, between)) + 1e-12)
    return weight * jnp.mean(jnp.square(norms - target))
  return stateless(penalty)


def zero_centred(gamma: float | Callable[[jax.Array], jax.Array], on: str,
                 every: int = 1) -> Regularizer:
  """gamma/2 * E[|grad D(x)|^2] over the `on` samples of the view ('real': R1, 'fake': R2);
  `gamma` a number or a function of the step (R3GAN's schedule). Lazy (StyleGAN2) when `every`
  > 1: computed only on steps divisible by `every`, scaled by `every` to keep its weight."""
  def penalty(view: CriticView, key, step):
    del key
    samples = getattr(view, on)
    weight = gamma(step) if callable(gamma) else gamma
    def value():  # inside `lazy`'s cond: computed only on the steps that use it
      return 0.5 * weight * jnp.mean(_squared_norms(_input_gradients(view.critic, samples))), ()
    return lazy(value, every, step)[0]
  return stateless(penalty, every)


def r1(gamma: float | Callable[[jax.Array], jax.Array] = 10.0, every: int = 1) -> Regularizer:
  """R1 (Mescheder et al. 2018): the zero-centred penalty on the real samples,
  gamma/2 * E[|grad D(real)|^2]; lazy every `every` steps (`zero_centred`)."""
  return zero_centred(gamma, 'real', every)


def r2(gamma: float | Callable[[jax.Array], jax.Array] = 10.0, every: int = 1) -> Regularizer:
  """R2: the zero-centred penalty on the generated samples, gamma/2 * E[|grad D(fake)|^2]
  (Mescheder et al. 2018; with R1, R3GAN's pair: brownvc/R3GAN `R3GAN/Trainer.py`, which weighs
  both by gamma/2); lazy every `every` steps (`zero_centred`)."""
  return zero_centred(gamma, 'fake', every)


def path_length(weight: float = 2.0, decay: float = 0.01, every: int = 4,
                batch_shrink: int = 1) -> Regularizer:
  """StyleGAN2's path length penalty (Karras et al. 2020), a generator-side regularizer with
  state, as stylegan2-ada-pytorch's `training/loss.py` (`StyleGAN2Loss`, phase Greg) computes it:

    the first n // batch_shrink codes of the view, generated again
    y ~ N(0, I) / sqrt(h * w)     (random image-space directions)
    length = |J^T y|, J = d fake / d codes, summed over each code vector, averaged over the
             code vectors of an example (StyleGAN2's ws), square-rooted
    mean  <- mean + decay * (E[length] - mean)       (the state, a running mean)
    penalty = weight * E[(length - mean)^2], lazily every `every` steps (scaled by `every`).

  The reference's defaults: pl_weight 2, pl_decay 0.01, G_reg_interval 4, pl_batch_shrink 2
  (1 here keeps the view's samples). The running mean moves with the global batch's mean length,
  so it stays equal on every device (the reference keeps one per GPU).
  """
  def apply(mean_length, view: GeneratorView, key, step):
    def value():
      codes = view.codes[:max(view.codes.shape[0] // batch_shrink, 1)]
      fake, pull_back = jax.vjp(view.generate, codes)  # J^T y without a second forward pass
      pixels = math.prod(fake.shape[1:-1]) if fake.ndim > 2 else 1
      directions = jax.random.normal(key, fake.shape, fake.dtype) / math.sqrt(pixels)
      grads, = pull_back(directions)
      squared = jnp.square(grads.astype(jnp.float32)).sum(-1)
      lengths = jnp.sqrt(squared.reshape(squared.shape[0], -1).mean(1))
      new_mean = mean_length + decay * (view.mean(jax.lax.stop_gradient(lengths)) - mean_length)
      return weight * jnp.mean(jnp.square(lengths - new_mean)), new_mean
    return lazy(value, every, step, mean_length)

  return Regularizer(init=lambda: jnp.zeros((), jnp.float32), apply=apply, every=every)
