"""`GANState`: the whole GAN in one pytree, so one pure step can advance it."""

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import struct


class GANState(struct.PyTreeNode):
  """Everything a training run changes, plus the two (static) optimizers.

  `key` is the run's base key and never changes: the step derives its randomness from
  `fold_in(key, step)`, so a state restored at step N draws exactly what the uninterrupted run
  would. `g_ema_params` is None when no generator EMA is kept. `d_reg_state` is the
  discriminator regularizer's state (`()` when it has none). `nonfinite_step` is the first step
  whose metrics were not all finite (0: none yet), kept on the device so that the loop can name
  the exact step without reading the metrics of every step.
  """

  step: jax.Array
  key: jax.Array
  g_params: Any
  d_params: Any
  g_opt_state: Any
  d_opt_state: Any
  g_ema_params: Any
  d_reg_state: Any
  nonfinite_step: jax.Array
  g_tx: optax.GradientTransformation = struct.field(pytree_node=False)
  d_tx: optax.GradientTransformation = struct.field(pytree_node=False)

  @classmethod
  def create(cls, key, generator, discriminator, g_tx, d_tx, latent_dim, image_shape,
             use_ema=False, regularizer=None, conditional=False):
    """Initialise both networks and optimizers (and the regularizer's state) from one key.
    `conditional`: the networks also take a batch of int32 labels."""
    k_g, k_d, k_train = jax.random.split(key, 3)
    labels = (jnp.zeros((1,), jnp.int32),) if conditional else ()
    # Jitted: run eagerly, the init's forward pass dispatches op by op (seconds at 64x64).
    g_params = jax.jit(generator.init)(k_g, jnp.zeros((1, latent_dim)), *labels)
    d_params = jax.jit(discriminator.init, static_argnames='train')(
        k_d, jnp.zeros((1, *image_shape)), *labels, train=False)
    return cls(
        step=jnp.zeros((), jnp.int32),
        key=k_train,
        g_params=g_params,
        d_params=d_params,
        g_opt_state=g_tx.init(g_params),
        d_opt_state=d_tx.init(d_params),
        g_ema_params=jax.tree.map(jnp.copy, g_params) if use_ema else None,
        d_reg_state=() if regularizer is None else regularizer.init(),
        nonfinite_step=jnp.zeros((), jnp.int32),
        g_tx=g_tx,
        d_tx=d_tx,
    )

  @property
  def sampling_params(self):
    """The generator parameters to sample with: the EMA when kept."""
    return self.g_params if self.g_ema_params is None else self.g_ema_params
