"""`GANState`: a whole GAN run in one pytree of arrays, so one pure step can advance it."""

from typing import Any

import jax
import jax.numpy as jnp
from flax import struct


class GANState(struct.PyTreeNode):
  """Everything a training run changes, the networks named (`G`, `D`; `G_ab`, `D_b`, ...).

  `params[name]`: the network's trained variables (Flax's `params` collection).
  `collections[name]`: its variables that are not trained (spectral norm's power-iteration
    vectors, a running average): the forward pass updates them, no optimizer touches them.
  `opt_state[name]`: its optimizer's state, for the networks that are trained.
  `ema[name]`: the exponential moving average of its parameters, for the networks that keep one.
  `pieces[name]`: the state that a piece of the game owns (a regularizer's running mean, an
    adaptive augmentation's probability), `()` for pieces without state.
  `key`: the run's base key, never changed: the step derives its randomness from
    `fold_in(key, step)`, so a state restored at step N draws what the uninterrupted run would.
  `nonfinite_step`: the first step whose metrics were not all finite (0: none yet), kept on the
    device so that the loop names the exact step without reading the metrics of every step.

  The optimizers themselves are values of the game (`jaxgan.games.Game.optimizers`), not of the
  state: the state is arrays only, what a checkpoint holds.
  """

  step: jax.Array
  key: jax.Array
  params: dict[str, Any]
  collections: dict[str, Any]
  opt_state: dict[str, Any]
  ema: dict[str, Any]
  pieces: dict[str, Any]
  nonfinite_step: jax.Array

  @classmethod
  def create(cls, key, variables: dict[str, dict], optimizers: dict, ema: tuple[str, ...] = (),
             pieces: dict[str, Any] | None = None) -> 'GANState':
    """The step-0 state from each network's initial Flax variables (`{'params': ..., other
    collections}`), the optimizers of the trained networks, the names of the networks that
    keep an EMA and the pieces' initial states."""
    params = {name: v['params'] for name, v in variables.items()}
    return cls(
        step=jnp.zeros((), jnp.int32),
        key=key,
        params=params,
        collections={name: {c: value for c, value in v.items() if c != 'params'}
                     for name, v in variables.items()},
        opt_state={name: tx.init(params[name]) for name, tx in optimizers.items()},
        ema={name: jax.tree.map(jnp.copy, params[name]) for name in ema},
        pieces=dict(pieces or {}),
        nonfinite_step=jnp.zeros((), jnp.int32))

  def variables(self, name: str, ema: bool = False) -> dict:
    """Network `name`'s Flax variables, for `module.apply`; with `ema`, its EMA parameters
    where it keeps one (the parameters to sample with)."""
    params = self.ema[name] if ema and name in self.ema else self.params[name]
    return {'params': params, **self.collections[name]}
