"""Games: what differs between GANs, as values the one training loop plays.

A `Game` says which networks there are, how one training step updates them, how they sample and,
for progressive models, how the state grows between stages. The loop (`jaxgan.train.run`), the
data-parallel wrapper, the checkpoints, the logging and `jaxgan.sample` are the same for every
game. One file per game:

  adversarial.py   a generator against a discriminator: DCGAN, WGAN-GP, SNGAN, conditional
                   GANs, any loss, regularizers on either side, (adaptive) augmentation,
                   n_critic, networks that grow by stages
  paired.py        pix2pix: G(source) against D(image, source), with an L1 term to the target
  cycle.py         CycleGAN: two generators, two discriminators, cycle and identity losses

Each family builds its game from a config (`jaxgan.families`); `recipe(config)` is the loss,
optimizers, regularizers, augmentation and EMA an adversarial config describes, `loss_of` and
`optimizers` the parts every family shares. Writing a new game: see the README's "Writing a
game".
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax
import optax

from jaxgan import ada, augment, losses, optim, regularizers, step
from jaxgan.state import GANState


class Game(NamedTuple):
  """A GAN as the loop sees it; every field is a pure function or a constant.

  init(key) -> GANState            the step-0 state (stage 0), from the run's key
  make_step(axis_name=None, stage=0) -> train_step(state, batch) -> (state, metrics)
                                   pure and jittable; `axis_name`: the per-device body of a
                                   data-parallel step; compiled once per stage
  generate(variables, inputs, stage=0, **options) -> samples
                                   network `sampler` (at `stage`) on its variables
                                   (`state.variables(sampler, ema=True)`, what checkpoints keep
                                   to sample with)
  grid_inputs(key, batch) -> inputs
                                   the inputs of the sample grids saved during a run: `key` is
                                   fixed for the run, `batch` the run's first batch
  inputs(key, num, labels=None) -> inputs, or None for a game whose inputs come from data
                                   random inputs for `num` samples (of the classes `labels`)
  sampler                          the network `generate` runs
  value_range                      the range of the samples (real images are mapped into it)
  optimizers                       {network: optax transformation}, the trained networks'
  stage(step) -> int               the stage step `step` (from 0) is played in
  grow(state, stage) -> GANState   the state entering `stage` from the previous stage's
  image_size(stage) -> int | None  the side of the real images stage `stage` trains on (the
                                   loader box-filters the dataset's down to it); None: the
                                   dataset's own
  show(inputs, samples) -> images  what the sample grids show of `samples` generated from
                                   `inputs` (a translation: source, output and target side by
                                   side); default: the samples
  learning_rates                   {network: a number, or an optax schedule of its optimizer's
                                   update count}, as logged (`learning_rates`); optional
  batches_per_step                 the real batches one step reads (WGAN's n_critic critic
                                   updates each read their own), stacked row-wise
  """

  init: Callable[[jax.Array], GANState]
  make_step: Callable[..., Callable]
  generate: Callable[[dict, dict], jax.Array]
  grid_inputs: Callable[[jax.Array, dict], dict]
  inputs: Callable[..., dict] | None = None
  sampler: str = 'G'
  value_range: tuple[float, float] = (0.0, 1.0)
  optimizers: dict[str, Any] = {}
  stage: Callable[[int], int] = lambda step: 0
  grow: Callable[[GANState, int], GANState] = lambda state, stage: state
  image_size: Callable[[int], int | None] = lambda stage: None
  show: Callable[[dict, Any], Any] = lambda inputs, samples: samples
  learning_rates: dict[str, Any] = {}
  batches_per_step: int = 1


def learning_rates(game: Game, opt_state: dict) -> dict[str, float]:
  """`{'lr/NAME': rate}`: the learning rate of each network's latest update, its schedule read
  at its optimizer's update count (which counts every update: n_critic's, a lazy regularizer's
  own steps, and restarts where progressive growing resets the optimizer). `opt_state`: the
  state's, fetched to the host."""
  rates = {}
  for name, rate in game.learning_rates.items():
    if callable(rate):
      counts = optax.tree_utils.tree_get_all_with_path(opt_state[name], 'count')
      rate = rate(max(int(counts[0][1]) - 1, 0)) if counts else rate(0)
    rates[f'lr/{name}'] = float(rate)
  return rates


def stage_after(game: Game, steps: int) -> int:
  """The stage whose shapes the state has after `steps` steps."""
  return game.stage(steps - 1) if steps else 0


def grown(game: Game, state: GANState, stage: int, to: int) -> GANState:
  """`state` of stage `stage` grown through every stage up to `to`."""
  for next_stage in range(stage + 1, to + 1):
    state = game.grow(state, next_stage)
  return state


def abstract_state(game: Game, key: jax.Array, steps: int) -> GANState:
  """The shapes and dtypes of the state after `steps` steps (`jax.eval_shape`, nothing
  computed): the target a checkpoint at that step restores into."""
  return jax.eval_shape(lambda: grown(game, game.init(key), 0, stage_after(game, steps)))


def merged(fresh: Any, old: Any) -> Any:
  """`fresh` with every leaf that `old` has at the same path, shape and dtype taken from `old`:
  how a state grows into a stage that adds layers (the new ones keep their initialisation, the
  old ones their trained values and optimizer moments)."""
  kept = {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree.flatten_with_path(old)[0]}

  def take(path, leaf):
    previous = kept.get(jax.tree_util.keystr(path))
    same = previous is not None and (previous.shape, previous.dtype) == (leaf.shape, leaf.dtype)
    return previous if same else leaf
  return jax.tree.map_with_path(take, fresh)


class Recipe(NamedTuple):
  """How an adversarial config trains its networks, built once by `recipe(config)`: what a
  family hands `adversarial.game`, and what the tests compare with the references' own
  constants and formulas.

  loss             a `jaxgan.losses.GANLoss`
  optimizers       {network: optax transformation}
  learning_rates   {network: a rate, or an optax schedule of its optimizer's update count}
  d_regularizer    a `jaxgan.regularizers.Regularizer` of the discriminator's side, or None
  g_regularizer    of the generator's side, or None
  augment          a `jaxgan.augment.Augmentation`, or None
  ema_decay        the generator EMA's decay (0: none), or a function of the step
  """
  loss: Any
  optimizers: dict[str, Any]
  learning_rates: dict[str, Any]
  d_regularizer: Any = None
  g_regularizer: Any = None
  augment: Any = None
  ema_decay: Any = 0.0


def loss_of(config) -> losses.GANLoss:
  """The config's loss: `keras_bce` with its label noise, `wasserstein` with its drift, any other
  of `jaxgan.losses.LOSSES` as it is."""
  if config.loss == 'keras_bce':
    return losses.keras_bce(config.label_noise)
  if config.loss == 'wasserstein':
    return losses.wasserstein(config.drift)
  return losses.LOSSES[config.loss]()


def optimizers(config, trained: dict, regularizer_steps: bool = False) -> tuple[dict, dict]:
  """`({name: optimizer}, {name: rate})` of the trained networks `{name: (learning rate,
  updates[, regularization interval])}`: the config's optimizer at its rate or schedule. With
  `regularizer_steps`, a network's constant rate and Adam's betas are corrected for its
  regularizer's own steps (stylegan2-ada-pytorch's `training/training_loop.py`: every network
  gets it for its interval, whether its penalty is on or not; the reference's G_reg_interval is
  4 with the path length off too, as in its cifar configuration)."""
  def ratio(interval):
    return optim.lazy_regularization_ratio(interval) if regularizer_steps else 1.0

  def rate(learning_rate, updates, interval=1):
    if config.lr_decay == 'cosine':
      return optax.cosine_decay_schedule(learning_rate, updates)
    if config.lr_decay == 'linear':
      return optim.linear_decay_schedule(learning_rate, updates)
    return learning_rate * ratio(interval)

  def optimizer(learning_rate, updates, interval=1):
    r = ratio(interval)
    return optim.OPTIMIZERS[config.optimizer](rate(learning_rate, updates, interval),
                                              config.adam_b1 ** r, config.adam_b2 ** r,
                                              config.adam_eps)
  return ({name: optimizer(*how) for name, how in trained.items()},
          {name: rate(*how) for name, how in trained.items()})


def recipe(config) -> Recipe:
  """The loss, optimizers, regularizers, augmentation and EMA of an adversarial config (a
  section with `jaxgan.families.common.Adversarial`'s fields)."""
  penalties = {}
  if config.gp_weight > 0:
    penalties['gradient_penalty'] = regularizers.gradient_penalty(config.gp_weight)
  if config.r1_gamma > 0:
    penalties['r1'] = regularizers.r1(config.r1_gamma, config.r1_every)
  if config.r2_gamma > 0:
    penalties['r2'] = regularizers.r2(config.r2_gamma, config.r1_every)
  d_regularizer = regularizers.chain(**penalties) if penalties else None
  g_regularizer = None
  if config.pl_weight > 0:
    g_regularizer = regularizers.path_length(config.pl_weight, every=config.pl_every,
                                             batch_shrink=config.pl_batch_shrink)
  if config.augment.startswith('ada'):
    augmentation = augment.adaptive(ada.pipeline(config.augment.partition(':')[2] or 'bgc'),
                                    config.batch_size, target=config.ada_target,
                                    speed_kimg=config.ada_kimg)
  else:
    policy = augment.diff_augment(config.augment)
    augmentation = None if policy is None else augment.stateless(policy)
  ema_decay = config.ema_decay
  if config.ema_kimg > 0:
    ema_decay = step.ema_half_life(config.ema_kimg, config.batch_size, config.ema_rampup)
  interval = lambda regularizer, otherwise: otherwise if regularizer is None else regularizer.every
  trained, rates = optimizers(
      config, {'G': (config.g_lr, config.steps, interval(g_regularizer, config.pl_every)),
               'D': (config.d_lr, config.steps * config.n_critic,
                     interval(d_regularizer, config.r1_every))},
      regularizer_steps=config.regularizer_steps)
  return Recipe(loss_of(config), trained, rates, d_regularizer, g_regularizer, augmentation,
                ema_decay)


__all__ = ['Game', 'Recipe', 'abstract_state', 'grown', 'learning_rates', 'loss_of', 'merged',
           'optimizers', 'recipe', 'stage_after']
