"""Optimizers not in optax as such."""

import jax
import jax.numpy as jnp
import optax


def scale_by_keras_adam(b1: float = 0.9, b2: float = 0.999,
                        eps: float = 1e-7) -> optax.GradientTransformation:
  """Adam's scaling exactly as Keras computes it.

  Keras adds `eps` to sqrt(v) before bias correction:
    update = sqrt(1 - b2^t) / (1 - b1^t) * m / (sqrt(v) + eps),
  which is optax's Adam with eps / sqrt(1 - b2^t): a larger epsilon in early steps. The state is
  optax's `ScaleByAdamState`.
  """

  def init(params):
    return optax.ScaleByAdamState(count=jnp.zeros([], jnp.int32),
                                  mu=jax.tree.map(jnp.zeros_like, params),
                                  nu=jax.tree.map(jnp.zeros_like, params))

  def update(grads, state, params=None):
    del params
    mu = jax.tree.map(lambda m, g: b1 * m + (1 - b1) * g, state.mu, grads)
    nu = jax.tree.map(lambda v, g: b2 * v + (1 - b2) * jnp.square(g), state.nu, grads)
    count = optax.safe_int32_increment(state.count)
    t = count.astype(jnp.float32)
    alpha = jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
    updates = jax.tree.map(lambda m, v: alpha * m / (jnp.sqrt(v) + eps), mu, nu)
    return updates, optax.ScaleByAdamState(count=count, mu=mu, nu=nu)

  return optax.GradientTransformation(init, update)


def keras_adam(learning_rate: float, b1: float = 0.9, b2: float = 0.999,
               eps: float = 1e-7) -> optax.GradientTransformation:
  """`keras.optimizers.Adam(learning_rate, b1, b2, eps)` as an optax transformation."""
  return optax.chain(scale_by_keras_adam(b1, b2, eps), optax.scale_by_learning_rate(learning_rate))


OPTIMIZERS = {'keras_adam': keras_adam, 'adam': optax.adam}


def lazy_regularization_ratio(every: int) -> float:
  """The share of a network's optimizer steps that are main steps when a regularizer takes its
  own step every `every` steps (`every / (every + 1)`; 1 without one). stylegan2-ada-pytorch
  (`training/training_loop.py`) scales Adam's learning rate by it and raises its betas to it, so
  that the main and regularization steps together move as the main steps alone would."""
  return every / (every + 1) if every > 1 else 1.0


def linear_decay_schedule(learning_rate: float, updates: int) -> optax.Schedule:
  """pytorch-CycleGAN-and-pix2pix's 'linear' policy (`models/networks.py`, `get_scheduler`)
  with its default n_epochs = n_epochs_decay, counted in updates instead of epochs: the rate
  stays `learning_rate` for the first half, then at update t (from 0) is `learning_rate * (1 -
  (t + 1 - half) / (updates - half + 1))`, reaching 1 / (the decay's length + 1) of it at the
  last update, as the reference's last epoch does."""
  half = updates // 2
  decay = updates - half

  def schedule(count):
    return learning_rate * (1.0 - jnp.maximum(0, count + 1 - half) / (decay + 1))
  return schedule
