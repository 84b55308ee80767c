"""What every game's train step does the same way: `Context`.

A game (`jaxgan.games`) writes only its own mathematics: which networks see what, which losses,
which pieces. The rest is here, once for every game, so that a new game cannot get it wrong:

- **keys**: `named_keys` splits a key into named streams, one use each. Data-parallel, every
  stream but the shared ones (the latents) is folded with the device index: dropout masks and
  augmentations differ between devices;
- **global draws**: `global_rows` draws for the global batch and keeps this device's rows, so
  latents and sampled labels are the single-device step's whatever the device count;
- **updates**: `update` takes the gradient of a loss with respect to one network's parameters,
  averages it over the devices (`pmean`, so it is the gradient of the global batch's mean loss)
  and applies that network's optimizer;
- **the end of a step**: `finish` averages the metrics, adds each updated network's gradient
  norm (`grad_norm/NAME`, of the step's last update of it), records the first non-finite step
  and advances the step counter; `update_ema` moves every EMA the state keeps.

With `axis_name` the step is the per-device body of a data-parallel step (`jaxgan.parallel`).
"""

from collections.abc import Callable
from typing import Any

import jax
import jax.numpy as jnp
import optax

from jaxgan.state import GANState


def to_model_range(images: jax.Array, value_range: tuple[float, float]) -> jax.Array:
  """uint8 images in [0, 255] -> float32 in `value_range` (the generator's output range);
  float samples (2-D points) as they are."""
  if jnp.issubdtype(images.dtype, jnp.floating):
    return images
  lo, hi = value_range
  return images.astype(jnp.float32) * ((hi - lo) / 255.0) + lo


def run_network(module, params, collections: dict, *inputs, update: bool = False, **kwargs):
  """`(output, collections)`: `module.apply` on a network's parameters and its non-trained
  collections; the collections the forward pass computed when `update`, else the given ones."""
  variables = {'params': params, **collections}
  if not collections:
    return module.apply(variables, *inputs, **kwargs), collections
  output, updated = module.apply(variables, *inputs, mutable=list(collections), **kwargs)
  return output, (dict(updated) if update else collections)


def ema_half_life(kimg: float, batch_size: int, rampup: float = 0.0) -> Callable:
  """`decay(step)`: the EMA decay of stylegan2-ada-pytorch's G_ema (`training_loop.py`): a
  half-life of `kimg` thousand images, `decay = 0.5 ** (batch_size / half-life images)`; with
  `rampup` > 0 the half-life is at most `rampup` times the images seen before this step (so the
  EMA starts as a copy of the generator)."""
  def decay(step):
    images = jnp.asarray(kimg * 1000.0, jnp.float32)
    if rampup > 0:
      images = jnp.minimum(images, step.astype(jnp.float32) * batch_size * rampup)
    return 0.5 ** (batch_size / jnp.maximum(images, 1e-8))
  return decay


class Context:
  """The step's shared machinery for the `optimizers` of a game (`{name: optax transform}`)."""

  def __init__(self, optimizers: dict[str, optax.GradientTransformation],
               axis_name: str | None = None):
    self.optimizers = optimizers
    self.axis_name = axis_name
    self._gradient_norms = {}  # {name: norm} of the step being traced, for `finish`

  def average(self, tree: Any) -> Any:
    """The mean over the devices (the tree itself on one device)."""
    return tree if self.axis_name is None else jax.lax.pmean(tree, self.axis_name)

  def per_device(self, key: jax.Array) -> jax.Array:
    """`key` folded with this device's index when data-parallel: a draw of its own."""
    if self.axis_name is None:
      return key
    return jax.random.fold_in(key, jax.lax.axis_index(self.axis_name))

  def named_keys(self, key: jax.Array, names: tuple[str, ...],
                 shared: tuple[str, ...] = ()) -> dict[str, jax.Array]:
    """`{name: key}` split from `key`; all but `shared` differ between devices."""
    keys = dict(zip(names, jax.random.split(key, len(names))))
    return {name: k if name in shared else self.per_device(k) for name, k in keys.items()}

  def global_rows(self, draw: Callable[[int], jax.Array], n: int) -> jax.Array:
    """`draw(count)` for the global batch, this device's `n` rows of it: the same values
    whatever the device count."""
    if self.axis_name is None:
      return draw(n)
    return self.own_rows(draw(n * jax.lax.axis_size(self.axis_name)), n)

  def all_rows(self, x: jax.Array) -> jax.Array:
    """The global batch's rows of `x`: every device's, in device order (`x` on one device)."""
    return x if self.axis_name is None else jax.lax.all_gather(x, self.axis_name, tiled=True)

  def own_rows(self, everyone: jax.Array, n: int) -> jax.Array:
    """This device's `n` rows of a global-batch array (`all_rows`' inverse)."""
    if self.axis_name is None:
      return everyone
    return jax.lax.dynamic_slice_in_dim(everyone, jax.lax.axis_index(self.axis_name) * n, n)

  def update(self, state: GANState, names: str | tuple[str, ...],
             loss_fn: Callable, measured: bool = True) -> tuple[GANState, Any]:
    """One optimizer step of network `names` on `loss_fn(params) -> (loss, aux)`, or of several
    networks at once on `loss_fn({name: params}) -> (loss, aux)` (each with its own optimizer:
    for Adam, the same as one optimizer over all of them); returns the new state and `aux`.
    Only these networks' parameters and optimizer states change. `measured`: see
    `apply_gradients`."""
    single = isinstance(names, str)
    together = (names,) if single else names
    params = {name: state.params[name] for name in together}
    grads, aux = jax.grad(lambda p: loss_fn(p[names] if single else p), has_aux=True)(params)
    return self.apply_gradients(state, grads, measured), aux

  def apply_gradients(self, state: GANState, grads: dict[str, Any],
                      measured: bool = True) -> GANState:
    """One optimizer step of each network in `grads` (`{name: gradient}`, this device's),
    averaged over the devices first: `update` for a gradient taken otherwise (pix2pix's
    generator, through a `jax.vjp` of the forward pass its discriminator update used).
    `measured`: the averaged gradient's global norm goes into the step's metrics
    (`grad_norm/NAME`); False for an extra update traced inside `lax.cond` or a loop (a lazy
    regularizer's), whose values cannot leave that branch."""
    grads = self.average(grads)
    if measured:
      self._gradient_norms.update({name: optax.tree.norm(grad) for name, grad in grads.items()})
    new_params, new_opt_state = dict(state.params), dict(state.opt_state)
    for name, grad in grads.items():
      updates, new_opt_state[name] = self.optimizers[name].update(
          grad, state.opt_state[name], state.params[name])
      new_params[name] = optax.apply_updates(state.params[name], updates)
    return state.replace(params=new_params, opt_state=new_opt_state)

  @staticmethod
  def update_ema(state: GANState, decay: float) -> GANState:
    """Moves every EMA the state keeps: `ema = decay * ema + (1 - decay) * params`."""
    return state.replace(ema={name: optax.incremental_update(state.params[name], ema, 1.0 - decay)
                              for name, ema in state.ema.items()})

  def finish(self, state: GANState, metrics: dict[str, jax.Array]) -> tuple[GANState, dict]:
    """The step's end: metrics averaged over the devices, with the gradient norms of the networks
    updated (`apply_gradients`), the first step whose metrics were not all finite recorded, the
    step counter advanced."""
    norms, self._gradient_norms = self._gradient_norms, {}
    metrics = self.average({**metrics, **{f'grad_norm/{name}': norm
                                          for name, norm in norms.items()}})
    finite = jnp.all(jnp.stack([jnp.isfinite(value) for value in jax.tree.leaves(metrics)]))
    first_nonfinite = jnp.where((state.nonfinite_step == 0) & ~finite, state.step + 1,
                                state.nonfinite_step)
    return state.replace(step=state.step + 1, nonfinite_step=first_nonfinite), metrics
