"""Discriminator regularizers: pure penalties added to the discriminator's loss.

A `Regularizer` is a pair of pure functions, in the style of optax's GradientTransformation:
  init() -> state
  apply(state, critic, real, fake, key, step) -> (penalty, new_state)
`critic(images) -> logits` is the discriminator at the parameters being differentiated, so a
penalty on its input gradients is differentiated through (double backprop). `real` and `fake` are
the batches the discriminator saw (after augmentation), `key` a fresh PRNG key, `step` the
training step. The state lives in `GANState.d_reg_state`; stateless regularizers use `()`.
`chain(*regularizers)` sums several; the step never changes to add one.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp


class Regularizer(NamedTuple):
  init: Callable[[], Any]
  apply: Callable[..., tuple[jax.Array, Any]]


def stateless(penalty: Callable[..., jax.Array]) -> Regularizer:
  """A `Regularizer` from `penalty(critic, real, fake, key, step) -> scalar`."""
  return Regularizer(init=lambda: (),
                     apply=lambda state, *args: (penalty(*args), state))


def chain(*regularizers: Regularizer) -> Regularizer:
  """The sum of several regularizers; its state is the tuple of theirs."""
  def init():
    return tuple(r.init() for r in regularizers)

  def apply(states, critic, real, fake, key, step):
    keys = jax.random.split(key, max(len(regularizers), 1))
    total, new_states = jnp.zeros((), jnp.float32), []
    for regularizer, state, k in zip(regularizers, states, keys):
      penalty, state = regularizer.apply(state, critic, real, fake, k, step)
      total, new_states = total + penalty, [*new_states, state]
    return total, tuple(new_states)

  return Regularizer(init, apply)


def _input_gradients(critic, images):
  """d(sum of logits)/d(images): each image's gradient of its own logit."""
  return jax.grad(lambda x: critic(x).sum())(images)


def _squared_norms(gradients):
  return jnp.sum(jnp.square(gradients).reshape(gradients.shape[0], -1), axis=1)


def gradient_penalty(weight: float = 10.0, target: float = 1.0) -> Regularizer:
  """WGAN-GP (Gulrajani et al. 2017): weight * E[(|grad D(x)| - target)^2] at random points x
  on the lines between real and generated samples."""
  def penalty(critic, real, fake, key, step):
    del step
    shape = (real.shape[0],) + (1,) * (real.ndim - 1)
    alpha = jax.random.uniform(key, shape)
    between = alpha * real + (1 - alpha) * jax.lax.stop_gradient(fake)
    norms = jnp.sqrt(_squared_norms(_input_gradients(critic, between)) + 1e-12)
    return weight * jnp.mean(jnp.square(norms - target))
  return stateless(penalty)


def r1(gamma: float = 10.0, every: int = 1) -> Regularizer:
  """R1 (Mescheder et al. 2018): gamma/2 * E[|grad D(real)|^2]. Lazy (StyleGAN2) when
  `every` > 1: computed only on steps divisible by `every`, scaled by `every` to keep its weight.
  """
  def penalty(critic, real, fake, key, step):
    del fake, key
    def r1_value():
      return 0.5 * gamma * every * jnp.mean(_squared_norms(_input_gradients(critic, real)))
    if every == 1:
      return r1_value()
    return jax.lax.cond(step % every == 0, r1_value, lambda: jnp.zeros((), jnp.float32))
  return stateless(penalty)
