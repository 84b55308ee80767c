"""Differentiable augmentations: pure `(key, images) -> images` functions, and `compose`.

The game applies one to every batch the discriminator sees, real and generated alike, and the
generator's gradient flows through it (DiffAugment, Zhao et al. 2020). Images are float
`(n, h, w, c)` in the generator's range; each image draws its own parameters.

The game takes an `Augmentation`: an augmentation that may own state and update it from what
the discriminator outputs (ADA's probability p, Karras et al. 2020). `stateless` makes one of a
plain function; `adaptive` wraps an augmentation in ADA's controller.
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

Augment = Callable[[jax.Array, jax.Array], jax.Array]


class DiscriminatorOutputs(NamedTuple):
  """What an `Augmentation` observes after each discriminator update: the logits of the real and
  the generated samples (this device's), and `mean(values)`, the mean of per-example values
  over the global batch (state updated with it stays equal on every device)."""
  real_logits: jax.Array
  fake_logits: jax.Array
  mean: Callable[[jax.Array], jax.Array]


class Augmentation(NamedTuple):
  """An augmentation with state, in the style of optax's GradientTransformation:
    init() -> state
    apply(state, key, images) -> images
    observe(state, outputs: DiscriminatorOutputs, step) -> state
    report(state) -> {metric: value}     what the run logs of it (ADA's p)
  The state lives in `GANState.pieces['augment']` and is checkpointed with the run."""
  init: Callable[[], Any]
  apply: Callable[[Any, jax.Array, jax.Array], jax.Array]
  observe: Callable[[Any, DiscriminatorOutputs, jax.Array], Any]
  report: Callable[[Any], dict] = lambda state: {}


def stateless(augment: Augment) -> Augmentation:
  """A plain `(key, images) -> images` augmentation as an `Augmentation` (state `()`)."""
  return Augmentation(init=lambda: (), apply=lambda state, key, images: augment(key, images),
                      observe=lambda state, outputs, step: state)


def with_probability(augment: Augment) -> Callable[[jax.Array, jax.Array, jax.Array], jax.Array]:
  """`(key, images, p) -> images`: each image augmented with probability `p`, else unchanged."""
  def apply(key, images, p):
    k_choose, k_augment = jax.random.split(key)
    chosen = jax.random.uniform(k_choose, (images.shape[0],) + (1,) * (images.ndim - 1)) < p
    return jnp.where(chosen, augment(k_augment, images), images)
  return apply


def adaptive(augment: Callable[[jax.Array, jax.Array, jax.Array], jax.Array], batch_size: int,
             target: float = 0.6, interval: int = 4, speed_kimg: float = 500.0) -> Augmentation:
  """ADA's controller (Karras et al. 2020) around `augment(key, images, p)`.

  As stylegan2-ada-pytorch's `training/training_loop.py` does: the discriminator's overfitting
  heuristic r_t = E[sign(D(real))] is averaged over the updates of `interval` steps; after each
  `interval` steps, p moves by sign(r_t - target) * batch_size * interval / (speed_kimg * 1000)
  (p goes from 0 to 1 in `speed_kimg` thousand images at the most) and is kept at least 0.
  Defaults as the reference's (ada_target 0.6, ada_interval 4, ada_kimg 500); p starts at 0.
  State: `{'p', 'signs', 'count'}`, the probability and the heuristic's running sum.
  """
  rate = batch_size * interval / (speed_kimg * 1000)

  def init():
    return {'p': jnp.zeros((), jnp.float32), 'signs': jnp.zeros((), jnp.float32),
            'count': jnp.zeros((), jnp.int32)}

  def apply(state, key, images):
    return augment(key, images, state['p'])

  def observe(state, outputs: DiscriminatorOutputs, step):
    signs = state['signs'] + outputs.mean(jnp.sign(jax.lax.stop_gradient(
        outputs.real_logits)).astype(jnp.float32))
    count = state['count'] + 1
    adjusting = (step + 1) % interval == 0
    heuristic = signs / count
    p = jnp.where(adjusting, jnp.maximum(state['p'] + jnp.sign(heuristic - target) * rate, 0.0),
                  state['p'])
    return {'p': p, 'signs': jnp.where(adjusting, 0.0, signs),
            'count': jnp.where(adjusting, 0, count)}

  return Augmentation(init, apply, observe, report=lambda state: {'augment/p': state['p']})


def scheduled(augment: Callable[[jax.Array, jax.Array, jax.Array], jax.Array],
              probability: Callable[[jax.Array], jax.Array]) -> Augmentation:
  """`augment(key, images, p)` at p = `probability(step)`: a schedule of the step, not a
  controller (R3GAN's `aug_scheduler`, `training/training_loop.py`). State `{'p'}`: the p of the
  coming step, set after each update."""
  return Augmentation(
      init=lambda: {'p': jnp.asarray(probability(jnp.zeros((), jnp.int32)), jnp.float32)},
      apply=lambda state, key, images: augment(key, images, state['p']),
      observe=lambda state, outputs, step: {'p': jnp.asarray(probability(step + 1), jnp.float32)},
      report=lambda state: {'augment/p': state['p']})


def compose(*augments: Augment) -> Augment:
  """Applies `augments` in order, each with its own key."""
  def apply(key, images):
    for augment, k in zip(augments, jax.random.split(key, max(len(augments), 1))):
      images = augment(k, images)
    return images
  return apply


def _per_image(key, images, low=0.0, high=1.0):
  return jax.random.uniform(key, (images.shape[0], 1, 1, 1), minval=low, maxval=high)


def color() -> Augment:
  """DiffAugment's color: brightness + U(-0.5, 0.5), saturation x U(0, 2), contrast
  x U(0.5, 1.5), each drawn per image."""
  def apply(key, images):
    k_brightness, k_saturation, k_contrast = jax.random.split(key, 3)
    images = images + _per_image(k_brightness, images, -0.5, 0.5)
    mean = images.mean(axis=3, keepdims=True)
    images = (images - mean) * _per_image(k_saturation, images, 0.0, 2.0) + mean
    mean = images.mean(axis=(1, 2, 3), keepdims=True)
    return (images - mean) * _per_image(k_contrast, images, 0.5, 1.5) + mean
  return apply


def translation(ratio: float = 0.125) -> Augment:
  """Shifts each image by up to `ratio` of its size in each direction, filling with zeros."""
  def apply(key, images):
    n, h, w, _ = images.shape
    pad_h, pad_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    k_y, k_x = jax.random.split(key)
    dy = jax.random.randint(k_y, (n,), -pad_h, pad_h + 1)
    dx = jax.random.randint(k_x, (n,), -pad_w, pad_w + 1)
    rows = jnp.arange(h)[None, :] - dy[:, None]  # (n, h): source row of each output row
    cols = jnp.arange(w)[None, :] - dx[:, None]
    inside = ((rows >= 0) & (rows < h))[:, :, None] & ((cols >= 0) & (cols < w))[:, None, :]
    moved = jax.vmap(lambda image, r, c: image[jnp.clip(r, 0, h - 1)][:, jnp.clip(c, 0, w - 1)])(
        images, rows, cols)
    return moved * inside[..., None]
  return apply


def cutout(ratio: float = 0.5) -> Augment:
  """Zeroes one square of `ratio` times the image size per image, centred anywhere."""
  def apply(key, images):
    n, h, w, _ = images.shape
    size_h, size_w = int(h * ratio + 0.5), int(w * ratio + 0.5)
    k_y, k_x = jax.random.split(key)
    top = jax.random.randint(k_y, (n, 1, 1), 0, h + (1 - size_h % 2)) - size_h // 2
    left = jax.random.randint(k_x, (n, 1, 1), 0, w + (1 - size_w % 2)) - size_w // 2
    y, x = jnp.arange(h)[None, :, None], jnp.arange(w)[None, None, :]
    hole = (y >= top) & (y < top + size_h) & (x >= left) & (x < left + size_w)
    return images * ~hole[..., None]
  return apply


AUGMENTS = {'color': color, 'translation': translation, 'cutout': cutout}


def diff_augment(policy: str = 'color,translation,cutout') -> Augment | None:
  """DiffAugment's policy string -> the composed augmentation (None for an empty policy)."""
  names = [name for name in policy.split(',') if name]
  unknown = [name for name in names if name not in AUGMENTS]
  if unknown:
    raise ValueError(f'unknown augmentation {unknown[0]!r}; known: {", ".join(AUGMENTS)}')
  return compose(*(AUGMENTS[name]() for name in names)) if names else None
