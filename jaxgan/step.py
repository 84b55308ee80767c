"""The GAN game, written once: `make_train_step` returns a pure `train_step(state, batch)`.

One call does what the seed's `GAN.train_step` does: a discriminator update on a generated and
a real batch, then a generator update through the freshly updated discriminator, with fresh
latents for each. Everything random comes from `fold_in(state.key, state.step)`, split into
named subkeys that are each used once.

Data-parallel (`axis_name` given), each device holds n of the global batch's N = n * devices
images. Gradients are `pmean`ed, so they equal the gradient of the mean loss over the global batch,
as the single-device step computes it. The latents are drawn for the global batch and each device
takes its own rows, so they are the single-device step's latents whatever the device count.
Dropout masks and loss noise are drawn per device from `fold_in(key, axis_index)`: distinct on
every device, but a different draw for each device count.
"""

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import linen as nn

from jaxgan.losses import GANLoss
from jaxgan.state import GANState


def to_model_range(images: jax.Array, value_range: tuple[float, float]) -> jax.Array:
  """uint8 images in [0, 255] -> float32 in `value_range` (the generator's output range)."""
  lo, hi = value_range
  return images.astype(jnp.float32) * ((hi - lo) / 255.0) + lo


def make_train_step(generator: nn.Module, discriminator: nn.Module, loss: GANLoss,
                    latent_dim: int, value_range: tuple[float, float] = (0.0, 1.0),
                    ema_decay: float = 0.0, axis_name: str | None = None):
  """Returns `train_step(state, images) -> (state, metrics)`, pure and ready for `jax.jit`.

  `images` is a uint8 batch `(n, h, w, c)`. With `axis_name`, the step is the per-device body of
  a data-parallel step (`jaxgan.parallel`): gradients and metrics are averaged over that axis.
  """

  def average(tree: Any) -> Any:
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)

  def train_step(state: GANState, images: jax.Array):
    key = jax.random.fold_in(state.key, state.step)
    k_z_d, k_z_g, k_drop_d, k_drop_g, k_loss_d, k_loss_g = jax.random.split(key, 6)
    real = to_model_range(images, value_range)
    n = real.shape[0]

    def latents(key):
      if axis_name is None:
        return jax.random.normal(key, (n, latent_dim))
      everyone = jax.random.normal(key, (n * jax.lax.axis_size(axis_name), latent_dim))
      return jax.lax.dynamic_slice_in_dim(everyone, jax.lax.axis_index(axis_name) * n, n)

    if axis_name is not None:
      device = jax.lax.axis_index(axis_name)
      k_drop_d, k_drop_g, k_loss_d, k_loss_g = (
          jax.random.fold_in(k, device) for k in (k_drop_d, k_drop_g, k_loss_d, k_loss_g))

    fake = generator.apply(state.g_params, latents(k_z_d))

    def d_loss_fn(d_params):
      logits = discriminator.apply(d_params, jnp.concatenate([fake, real]), train=True,
                                   rngs={'dropout': k_drop_d})
      fake_logits, real_logits = logits[:n], logits[n:]
      d_loss = loss.discriminator(real_logits, fake_logits, k_loss_d)
      return d_loss, (real_logits.mean(), fake_logits.mean())

    (d_loss, (real_logit, fake_logit)), d_grads = jax.value_and_grad(d_loss_fn, has_aux=True)(
        state.d_params)
    d_updates, d_opt_state = state.d_tx.update(average(d_grads), state.d_opt_state,
                                               state.d_params)
    d_params = optax.apply_updates(state.d_params, d_updates)

    def g_loss_fn(g_params):
      fake = generator.apply(g_params, latents(k_z_g))
      logits = discriminator.apply(d_params, fake, train=True, rngs={'dropout': k_drop_g})
      return loss.generator(logits, k_loss_g)

    g_loss, g_grads = jax.value_and_grad(g_loss_fn)(state.g_params)
    g_updates, g_opt_state = state.g_tx.update(average(g_grads), state.g_opt_state,
                                               state.g_params)
    g_params = optax.apply_updates(state.g_params, g_updates)

    g_ema_params = state.g_ema_params
    if g_ema_params is not None:
      g_ema_params = optax.incremental_update(g_params, g_ema_params, 1.0 - ema_decay)

    new_state = state.replace(
        step=state.step + 1, g_params=g_params, d_params=d_params, g_opt_state=g_opt_state,
        d_opt_state=d_opt_state, g_ema_params=g_ema_params)
    metrics = {'d/loss': d_loss, 'g/loss': g_loss, 'd/real_logit': real_logit,
               'd/fake_logit': fake_logit}
    return new_state, average(metrics)

  return train_step
