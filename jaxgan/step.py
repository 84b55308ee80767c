"""The GAN game, written once: `make_train_step` returns a pure `train_step(state, batch)`.

One call does what the seed's `GAN.train_step` does: a discriminator update on a generated and
a real batch, then a generator update through the freshly updated discriminator, with fresh
latents for each. Around that game every piece is a value passed in: the loss (`jaxgan.losses`),
regularizers added to the discriminator's loss (`jaxgan.regularizers`), an augmentation applied to
everything the discriminator sees (`jaxgan.augment`), and `n_critic` discriminator updates per
generator update (WGAN), each on its own real batch.

Randomness: `key = fold_in(state.key, state.step)` splits into the discriminator's and the
generator's keys; critic update i uses `fold_in(k_d, i)`. Each splits into named subkeys (latents,
dropout, loss, augmentation, regularizer), each used once.

Data-parallel (`axis_name` given), each device holds n of the global batch's N = n * devices
images. Gradients are `pmean`ed, so they equal the gradient of the mean loss over the global batch,
as the single-device step computes it. The latents are drawn for the global batch and each device
takes its own rows, so they are the single-device step's latents whatever the device count.
Dropout masks, loss noise, augmentations and regularizer draws come from `fold_in(key,
axis_index)`: distinct on every device, but a different draw for each device count.

The step also records in `state.nonfinite_step` the first step whose (averaged) metrics were not
all finite, on the device: the loop reads it only when it logs or saves, and still names the step.
"""

from typing import Any

import jax
import jax.numpy as jnp
import optax
from flax import linen as nn

from jaxgan.augment import Augment
from jaxgan.losses import GANLoss
from jaxgan.regularizers import Regularizer
from jaxgan.state import GANState

STATS = 'batch_stats'  # a discriminator's non-trained variables (spectral norm's power iteration)
LABEL_STREAM = 1  # fold_in id of the generated images' labels: a stream beside the named keys


def to_model_range(images: jax.Array, value_range: tuple[float, float]) -> jax.Array:
  """uint8 images in [0, 255] -> float32 in `value_range` (the generator's output range)."""
  lo, hi = value_range
  return images.astype(jnp.float32) * ((hi - lo) / 255.0) + lo


def make_train_step(generator: nn.Module, discriminator: nn.Module, loss: GANLoss,
                    latent_dim: int, value_range: tuple[float, float] = (0.0, 1.0),
                    ema_decay: float = 0.0, axis_name: str | None = None,
                    regularizer: Regularizer | None = None, augment: Augment | None = None,
                    n_critic: int = 1, sample_key: str = 'image', num_classes: int = 0):
  """Returns `train_step(state, batch) -> (state, metrics)`, pure and ready for `jax.jit`.

  `batch` is a dict whose every entry holds `n * n_critic` rows (`jaxgan.data`); the real samples
  are `batch[sample_key]`: uint8 images `(…, h, w, c)` are scaled to `value_range`, float samples
  (e.g. 2-D points) are used as they are. Row `i * n_critic + k` is the i-th real sample of
  critic update k. With `num_classes`, the game is class-conditional: the generator is called
  `G(z, labels)` with labels drawn uniformly (like the latents: global, then each device's rows),
  the discriminator `D(x, labels)`, real images with `batch['label']`, and the regularizers see
  the critic at the real images' labels. With `axis_name`, the step is the per-device body of a
  data-parallel step (`jaxgan.parallel`): gradients and metrics are averaged over that axis.
  `state.d_reg_state` must come from `regularizer.init()` (`GANState.create(regularizer=...)`).
  """

  def average(tree: Any) -> Any:
    return tree if axis_name is None else jax.lax.pmean(tree, axis_name)

  def named_keys(key):
    names = ('z', 'drop', 'loss', 'augment', 'regularizer')
    keys = dict(zip(names, jax.random.split(key, len(names))))
    if axis_name is not None:  # the latents stay global, see `latents`
      device = jax.lax.axis_index(axis_name)
      keys = {name: k if name == 'z' else jax.random.fold_in(k, device)
              for name, k in keys.items()}
    return keys

  def this_devices_rows(draw, n):
    """`draw(count)` for the global batch, this device's `n` rows of it: the same values
    whatever the device count."""
    if axis_name is None:
      return draw(n)
    everyone = draw(n * jax.lax.axis_size(axis_name))
    return jax.lax.dynamic_slice_in_dim(everyone, jax.lax.axis_index(axis_name) * n, n)

  def latents(key, n):
    return this_devices_rows(lambda count: jax.random.normal(key, (count, latent_dim)), n)

  def fake_labels(key, n):
    """Uniform classes for the generated images (None when unconditional). Drawn from a key
    folded in from the update's, so that the unconditional game's draws stay as they were."""
    if not num_classes:
      return None
    key = jax.random.fold_in(key, LABEL_STREAM)
    return this_devices_rows(lambda count: jax.random.randint(key, (count,), 0, num_classes), n)

  def generate(g_params, z, labels):
    inputs = (z,) if labels is None else (z, labels)
    return generator.apply(g_params, *inputs)

  def augmented(key, images):
    return images if augment is None else augment(key, images)

  def critic(d_params, images, key, labels=None, update_stats=False):
    """Logits (and the variables, with updated statistics when asked and kept)."""
    inputs = (images,) if labels is None else (images, labels)
    if STATS not in d_params:
      return discriminator.apply(d_params, *inputs, train=True, rngs={'dropout': key}), d_params
    logits, updates = discriminator.apply(d_params, *inputs, train=True, rngs={'dropout': key},
                                          update_stats=update_stats, mutable=[STATS])
    return logits, {**d_params, **updates} if update_stats else d_params

  def train_step(state: GANState, batch: dict[str, jax.Array]):
    key = jax.random.fold_in(state.key, state.step)
    k_d, k_g = jax.random.split(key)
    real = batch[sample_key]
    if not jnp.issubdtype(real.dtype, jnp.floating):
      real = to_model_range(real, value_range)
    n = real.shape[0] // n_critic
    per_update = lambda rows: jnp.swapaxes(rows.reshape(n, n_critic, *rows.shape[1:]), 0, 1)
    real = per_update(real)
    real_labels = per_update(batch['label']) if num_classes else [None] * n_critic

    def critic_update(carry, inputs):
      d_params, d_opt_state, d_reg_state = carry
      real, labels, key = inputs
      keys = named_keys(key)
      generated_labels = fake_labels(key, n)
      fake = generate(state.g_params, latents(keys['z'], n), generated_labels)
      both = augmented(keys['augment'], jnp.concatenate([fake, real]))
      both_labels = None if labels is None else jnp.concatenate([generated_labels, labels])

      def d_loss_fn(trained):
        logits, variables = critic({**d_params, 'params': trained}, both, keys['drop'],
                                   both_labels, update_stats=True)
        fake_logits, real_logits = logits[:n], logits[n:]
        metrics = {'d/loss': loss.discriminator(real_logits, fake_logits, keys['loss']),
                   'd/real_logit': real_logits.mean(), 'd/fake_logit': fake_logits.mean()}
        reg_state = d_reg_state
        if regularizer is None:
          return metrics['d/loss'], (metrics, variables, reg_state)
        at_params = lambda images: critic({**d_params, 'params': trained}, images,
                                          keys['drop'], labels)[0]  # as the real images' class
        metrics['d/penalty'], reg_state = regularizer.apply(
            d_reg_state, at_params, both[n:], both[:n], keys['regularizer'], state.step)
        return metrics['d/loss'] + metrics['d/penalty'], (metrics, variables, reg_state)

      (_, (metrics, variables, d_reg_state)), d_grads = jax.value_and_grad(
          d_loss_fn, has_aux=True)(d_params['params'])
      # Variables that are not trained (spectral norm's vectors) get zero gradients, which
      # leave them where they are, and then take the values the forward pass computed.
      grads = {**jax.tree.map(jnp.zeros_like, d_params), 'params': average(d_grads)}
      updates, d_opt_state = state.d_tx.update(grads, d_opt_state, d_params)
      d_params = {**optax.apply_updates(d_params, updates),
                  **{name: value for name, value in variables.items() if name != 'params'}}
      return (d_params, d_opt_state, d_reg_state), metrics

    # A Python loop, not lax.scan: XLA:CPU runs the convolutions inside a while loop about 10x
    # slower (wgan_gp's step: 4.2 s as a scan, 0.42 s unrolled).
    carry = (state.d_params, state.d_opt_state, state.d_reg_state)
    for i in range(n_critic):
      carry, metrics = critic_update(carry, (real[i], real_labels[i], jax.random.fold_in(k_d, i)))
    d_params, d_opt_state, d_reg_state = carry  # metrics: the last critic update's

    keys = named_keys(k_g)
    generated_labels = fake_labels(k_g, n)

    def g_loss_fn(g_params):
      fake = augmented(keys['augment'], generate(g_params, latents(keys['z'], n),
                                                 generated_labels))
      logits, _ = critic(d_params, fake, keys['drop'], generated_labels)
      return loss.generator(logits, keys['loss'])

    g_loss, g_grads = jax.value_and_grad(g_loss_fn)(state.g_params)
    g_updates, g_opt_state = state.g_tx.update(average(g_grads), state.g_opt_state,
                                               state.g_params)
    g_params = optax.apply_updates(state.g_params, g_updates)

    g_ema_params = state.g_ema_params
    if g_ema_params is not None:
      g_ema_params = optax.incremental_update(g_params, g_ema_params, 1.0 - ema_decay)

    metrics = average({**metrics, 'g/loss': g_loss})
    finite = jnp.all(jnp.stack([jnp.isfinite(value) for value in jax.tree.leaves(metrics)]))
    first_nonfinite = jnp.where((state.nonfinite_step == 0) & ~finite, state.step + 1,
                                state.nonfinite_step)
    new_state = state.replace(
        step=state.step + 1, g_params=g_params, d_params=d_params, g_opt_state=g_opt_state,
        d_opt_state=d_opt_state, g_ema_params=g_ema_params, d_reg_state=d_reg_state,
        nonfinite_step=first_nonfinite)
    return new_state, metrics

  return train_step
