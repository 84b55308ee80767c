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

`build(config)` turns a `jaxgan.config.Config` into its game, as `jaxgan.nets.build` turns it
into networks. Writing a new game: see the README's "Writing a game".
"""

from collections.abc import Callable
from typing import Any, NamedTuple

import jax

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


def learning_rates(game: Game, opt_state: dict) -> dict[str, float]:
  """`{'lr/NAME': rate}`: the learning rate of each network's latest update, its schedule read
  at its optimizer's update count (which counts every update: n_critic's, a lazy regularizer's
  own steps, and restarts where progressive growing resets the optimizer). `opt_state`: the
  state's, fetched to the host."""
  import optax
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
  """How a config trains its networks, built once by `recipe(config)`: what `build` hands the
  game, and what the tests compare with the references' own constants and formulas.

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


def recipe(config) -> Recipe:
  """The loss, optimizers, regularizers, augmentation and EMA a `jaxgan.config.Config`
  describes; the translation families train their generators and discriminators by name
  (pix2pix's G and D, CycleGAN's G_ab, G_ba, D_a and D_b) and have no regularizers."""
  import optax

  from jaxgan import ada, losses, optim, regularizers, step
  from jaxgan.augment import adaptive, diff_augment, stateless
  from jaxgan.games import cycle

  def lazy_ratio(interval):
    """stylegan2-ada-pytorch's correction of a network's Adam for its regularization steps
    (`training/training_loop.py`): with `regularizer_steps`, every network gets it for its
    interval, whether its penalty is on or not (the reference's G_reg_interval is 4 with the
    path length off too, as in its cifar configuration)."""
    return optim.lazy_regularization_ratio(interval) if config.regularizer_steps else 1.0

  def rate(learning_rate, updates, interval=1):
    """The config's learning rate or schedule; with `regularizer_steps`, a constant rate
    corrected for the regularizer's own steps (`optim.lazy_regularization_ratio`)."""
    if config.lr_decay == 'cosine':
      return optax.cosine_decay_schedule(learning_rate, updates)
    if config.lr_decay == 'linear':
      return optim.linear_decay_schedule(learning_rate, updates)
    return learning_rate * lazy_ratio(interval)

  def optimizer(learning_rate, updates, interval=1):
    """The config's optimizer at `rate`, Adam's betas corrected as the rate is."""
    ratio = lazy_ratio(interval)
    return optim.OPTIMIZERS[config.optimizer](rate(learning_rate, updates, interval),
                                              config.adam_b1 ** ratio, config.adam_b2 ** ratio,
                                              config.adam_eps)

  def optimizers_and_rates(trained):
    """`{name: optimizer}` and `{name: rate}` of the trained networks `{name: (learning rate,
    updates[, regularization interval])}`, from one description."""
    return ({name: optimizer(*how) for name, how in trained.items()},
            {name: rate(*how) for name, how in trained.items()})

  if config.loss == 'seed_bce':
    loss = losses.seed_bce(config.label_noise)
  elif config.loss == 'wasserstein':
    loss = losses.wasserstein(config.drift)
  else:
    loss = losses.LOSSES[config.loss]()
  if config.arch == 'pix2pix':
    return Recipe(loss, *optimizers_and_rates({'G': (config.g_lr, config.steps),
                                               'D': (config.d_lr, config.steps)}))
  if config.arch == 'cyclegan':
    return Recipe(loss, *optimizers_and_rates(
        {**{name: (config.g_lr, config.steps) for name in cycle.GENERATORS},
         **{name: (config.d_lr, config.steps) for name in cycle.DISCRIMINATORS}}))
  penalties = {}
  if config.gp_weight > 0:
    penalties['gradient_penalty'] = regularizers.gradient_penalty(config.gp_weight)
  if config.r1_gamma > 0:
    penalties['r1'] = regularizers.r1(config.r1_gamma, config.r1_every)
  d_regularizer = regularizers.chain(**penalties) if penalties else None
  g_regularizer = None
  if config.pl_weight > 0:
    g_regularizer = regularizers.path_length(config.pl_weight, every=config.pl_every,
                                             batch_shrink=config.pl_batch_shrink)
  if config.augment.startswith('ada'):
    augmentation = adaptive(ada.pipeline(config.augment.partition(':')[2] or 'bgc'),
                            config.batch_size, target=config.ada_target,
                            speed_kimg=config.ada_kimg)
  else:
    augment = diff_augment(config.augment)
    augmentation = None if augment is None else stateless(augment)
  ema_decay = config.ema_decay
  if config.ema_kimg > 0:
    ema_decay = step.ema_half_life(config.ema_kimg, config.batch_size, config.ema_rampup)
  interval = lambda regularizer, otherwise: otherwise if regularizer is None else regularizer.every
  optimizers, rates = optimizers_and_rates(
      {'G': (config.g_lr, config.steps, interval(g_regularizer, config.pl_every)),
       'D': (config.d_lr, config.steps * config.n_critic,
             interval(d_regularizer, config.r1_every))})
  if config.freeze_d:
    from jaxgan import nets
    frozen = set(nets.stylegan2.discriminator_layers(config.image_size, config.d_architecture)
                 [:config.freeze_d])
    optimizers['D'] = optax.multi_transform(
        {'train': optimizers['D'], 'frozen': optax.set_to_zero()},
        lambda params: jax.tree.map_with_path(
            lambda path, _: 'frozen' if tuple(str(getattr(k, 'key', k)) for k in path[:2])
            in frozen else 'train', params))
  return Recipe(loss, optimizers, rates, d_regularizer, g_regularizer, augmentation, ema_decay)


def build(config) -> Game:
  """The game a `jaxgan.config.Config` describes: its networks and its `recipe`."""
  from jaxgan import nets
  from jaxgan.evaluate import modes
  from jaxgan.games import adversarial, cycle, paired, progressive

  pieces = recipe(config)
  generator, discriminator = nets.build(config)
  if config.arch == 'pix2pix':
    return paired.game(generator, discriminator, optimizers=pieces.optimizers,
                       sample_shape=nets.sample_shape(config),
                       loss=pieces.loss, l1_weight=config.l1_weight,
                       grid_count=config.sample_grid ** 2)._replace(
                           learning_rates=pieces.learning_rates)
  if config.arch == 'cyclegan':
    return cycle.game({'G_ab': generator, 'G_ba': generator, 'D_a': discriminator,
                       'D_b': discriminator}, optimizers=pieces.optimizers,
                      sample_shape=nets.sample_shape(config), loss=pieces.loss,
                      cycle_weight=config.cycle_weight, identity_weight=config.identity_weight,
                      pool_size=config.pool_size,
                      grid_count=config.sample_grid ** 2)._replace(
                          learning_rates=pieces.learning_rates)
  points = config.arch == 'mlp2d'
  options = dict(
      loss=pieces.loss,
      optimizers=pieces.optimizers,
      latent_dim=config.latent_dim, sample_shape=nets.sample_shape(config),
      value_range=((-1.0, 1.0) if config.arch in ('stylegan2', 'pggan')
                   else adversarial.VALUE_RANGE),
      ema_decay=pieces.ema_decay, d_regularizer=pieces.d_regularizer,
      g_regularizer=pieces.g_regularizer, augment=pieces.augment, n_critic=config.n_critic,
      sample_key=nets.sample_key(config), num_classes=nets.num_classes(config),
      grid_columns=config.sample_grid,
      grid_count=modes.NUM_SAMPLES if points else config.sample_grid ** 2,
      regularizer_steps=config.regularizer_steps,
      joint_critic=config.arch not in ('stylegan2', 'pggan'))
  if config.arch == 'pggan':
    steps_for = lambda kimg: round(kimg * 1000 / config.batch_size)
    return progressive.game(generator, discriminator, resolution=config.image_size,
                            stable_steps=steps_for(config.stage_kimg),
                            fade_steps=steps_for(config.fade_kimg),
                            reset_optimizers=config.reset_optimizer,
                            **options)._replace(learning_rates=pieces.learning_rates)
  return adversarial.game(generator, discriminator, **options)._replace(
      learning_rates=pieces.learning_rates)


__all__ = ['Game', 'Recipe', 'abstract_state', 'build', 'grown', 'learning_rates', 'merged',
           'recipe', 'stage_after']
