"""The adversarial game: a generator `G` against a discriminator `D`.

One step does what the keras.io example's `GAN.train_step` does: a discriminator update on a
generated and a real batch, then a generator update through the freshly updated discriminator,
with fresh latents for each. Around that every piece is a value: the loss (`jaxgan.losses`),
regularizers on the discriminator's side (R1, the gradient penalty) and on the generator's (path
length) (`jaxgan.regularizers`), an augmentation of everything the discriminator sees, which may
adapt to the discriminator's outputs (`jaxgan.augment`), and `n_critic` discriminator updates per
generator update (WGAN), each on its own real batch.

What the networks take:
  G(z[, labels]), drawing any randomness of its own (noise inputs, style mixing) from the Flax RNG
    stream 'noise'; its non-trained collections (a running average) advance in its update;
  D(x[, labels], train=True, update_stats=...), dropout from the stream 'dropout'; its
    non-trained collections (spectral norm's vectors) advance in its own update;
  with `num_classes`, both take int32 labels: generated samples get labels drawn uniformly,
    real ones `batch['label']`, and the regularizers see the critic at the real labels.
Networks with a `stage` attribute are progressive: step `s` plays the stage `stages` gives it,
with those networks cloned at that stage; entering a stage initialises the networks at it and
keeps every variable (and optimizer moment) the previous stage had (`jaxgan.games.merged`).

Randomness: `key = fold_in(state.key, state.step)` splits into the discriminator's and the
generator's keys; critic update i uses `fold_in(k_d, i)`. Each splits into named streams (`z`,
`drop`, `loss`, `augment`, `regularizer`), each used once; the labels and G's noise are streams
folded in with fixed ids beside them, so that adding one moves no other draw. Data-parallel, the
latents and labels are drawn for the global batch (the same whatever the device count); dropout,
noise, augmentations and penalties differ per device (`jaxgan.step.Context`).
"""

import bisect
import functools
from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgan.augment import Augmentation, DiscriminatorOutputs
from jaxgan.games import Game, merged
from jaxgan.losses import GANLoss, equilibrium
from jaxgan.regularizers import CriticView, GeneratorView, Regularizer
from jaxgan.state import GANState
from jaxgan.step import Context, run_network, to_model_range

VALUE_RANGE = (0.0, 1.0)  # the DCGAN generator ends in a sigmoid, as the keras.io example's
KEY_NAMES = ('z', 'drop', 'loss', 'augment', 'regularizer')
LABEL_STREAM = 1  # fold_in ids of streams beside the named keys
NOISE_STREAM = 2
GROW_STREAM = 3
PENALTY_AUGMENT_STREAM = 1  # folded into the augment key: the penalties' own augmentation


class Rules(NamedTuple):
  """The game as `game` was given it (see there): the networks, the loss, the pieces."""
  generator: nn.Module
  discriminator: nn.Module
  loss: GANLoss
  optimizers: dict
  latent_dim: int
  sample_shape: tuple[int, ...]
  value_range: tuple[float, float]
  ema_decay: float | Callable[[jax.Array], jax.Array]
  d_regularizer: Regularizer | None
  g_regularizer: Regularizer | None
  augment: Augmentation | None
  n_critic: int
  sample_key: str
  num_classes: int
  grid_columns: int
  grid_count: int
  stages: tuple[int, ...]
  regularizer_steps: bool
  joint_critic: bool


class Play(NamedTuple):
  """What one compiled step plays with: the rules, the networks at its stage (`g`, `d`) and its
  `Context` (the data-parallel axis, the optimizers)."""
  rules: Rules
  g: nn.Module
  d: nn.Module
  ctx: Context


def game(generator: nn.Module, discriminator: nn.Module, loss: GANLoss, optimizers: dict,
         latent_dim: int, sample_shape: tuple[int, ...],
         value_range: tuple[float, float] = VALUE_RANGE,
         ema_decay: float | Callable[[jax.Array], jax.Array] = 0.0,
         d_regularizer: Regularizer | None = None, g_regularizer: Regularizer | None = None,
         augment: Augmentation | None = None, n_critic: int = 1, sample_key: str = 'image',
         num_classes: int = 0, grid_columns: int = 8, grid_count: int = 64,
         stages: tuple[int, ...] = (), regularizer_steps: bool = False,
         joint_critic: bool = True) -> Game:
  """The `Game` of `generator` against `discriminator`.

  `optimizers`: `{'G': ..., 'D': ...}`. `batch[sample_key]` holds the real samples, `n * b`
  rows for `b = batches_per_step(...)` (row `i * b + k`: the i-th of critic update k, or for
  k = n_critic of a loss of pairs, of the generator's update); uint8 images are mapped
  to `value_range`, float samples (2-D points) used as they are. `ema_decay` > 0 keeps an EMA of
  G to sample with; a function of the step gives a schedule (`jaxgan.step.ema_half_life`).
  Piece state lives in `state.pieces` as 'augment', 'd_regularizer', 'g_regularizer'.
  `stages`: the steps at which stage 1, 2, ... begin (progressive networks). Grids:
  `grid_count` samples, or for a conditional G one row of `grid_columns` per class.

  `regularizer_steps`: each regularizer takes its own optimizer step after its network's main
  one, on the steps it applies (`Regularizer.every`), as stylegan2-ada-pytorch's phases Dreg and
  Greg do (`training/training_loop.py`); otherwise its penalty joins the main loss. A generator
  with `map(z, labels)` and `synthesize(codes, labels)` methods (StyleGAN2's mapping and
  synthesis) shows the generator-side regularizer its mapped codes (ws), not the latents.

  `joint_critic`: the discriminator's update runs it once on the generated and the real batch
  together, as the keras.io example's `train_step` does; False: on each batch apart (the same
  weights, vmapped), as stylegan2-ada-pytorch and progressive_growing_of_gans do, for a
  discriminator whose output for one sample depends on the others in its batch (minibatch
  standard deviation: otherwise its groups would mix generated and real samples).
  """
  rules = Rules(generator, discriminator, loss, optimizers, latent_dim, tuple(sample_shape),
                value_range, ema_decay, d_regularizer, g_regularizer, augment, n_critic,
                sample_key, num_classes, grid_columns, grid_count, tuple(stages),
                regularizer_steps, joint_critic)
  # One program for the whole state: run eagerly, the networks' forward passes and every
  # optimizer and EMA leaf would dispatch (and compile) on their own (seconds at 64x64; a
  # tiny PGGAN's stage took 4.6 s to initialise so, against about 1 s as one program).
  init_at = jax.jit(functools.partial(initial_state, rules), static_argnums=1)

  def grow(state, stage):
    fresh = init_at(jax.random.fold_in(jax.random.fold_in(state.key, GROW_STREAM), stage), stage)
    return merged(fresh, state)

  def make_step(axis_name: str | None = None, stage: int = 0):
    return functools.partial(train_step, Play(rules, *networks(rules, stage),
                                              Context(optimizers, axis_name)))

  return Game(init=lambda key: init_at(jax.random.fold_in(key, 0), 0), make_step=make_step,
              generate=functools.partial(generate_samples, rules),
              grid_inputs=functools.partial(grid_inputs, rules),
              inputs=functools.partial(inputs, rules), sampler='G', value_range=value_range,
              optimizers=optimizers, stage=lambda step: bisect.bisect_right(stages, step),
              grow=grow, batches_per_step=batches_per_step(rules))


# The step, as the reference's loss reads: the critic's update on generated and real samples,
# then the generator's through the updated critic.

def batches_per_step(rules: Rules) -> int:
  """The real batches one step reads: one per critic update, and with a loss of pairs one more
  for the generator's update (as R3GAN's `training/training_loop.py` draws one per phase)."""
  return rules.n_critic + rules.loss.pairs


def train_step(play: Play, state: GANState, batch: dict) -> tuple[GANState, dict]:
  """`n_critic` critic updates, each on its own real batch, then one generator update (with a
  loss of pairs, on a real batch of its own), then the generator's EMA."""
  rules = play.rules
  key = jax.random.fold_in(state.key, state.step)
  k_d, k_g = jax.random.split(key)
  batches = batches_per_step(rules)
  n = batch[rules.sample_key].shape[0] // batches
  per_update = lambda rows: jnp.swapaxes(rows.reshape(n, batches, *rows.shape[1:]), 0, 1)
  updates = jax.tree.map(per_update, batch)  # each entry: (batches, n, ...)
  real = to_model_range(updates[rules.sample_key], rules.value_range)
  # A Python loop, not lax.scan: XLA:CPU runs the convolutions inside a while loop about
  # 10x slower (wgan_gp's step: 4.2 s as a scan, 0.42 s unrolled).
  for i in range(rules.n_critic):
    rows = jax.tree.map(lambda entry, i=i: entry[i], updates)
    state, metrics = critic_update(play, state, real[i],
                                   rows['label'] if rules.num_classes else None, rows,
                                   jax.random.fold_in(k_d, i))  # the last update's
  if rules.loss.pairs:
    rows = jax.tree.map(lambda entry: entry[rules.n_critic], updates)
    state, g_metrics = generator_update(play, state, k_g, n, rows, real[rules.n_critic])
  else:
    state, g_metrics = generator_update(play, state, k_g, n, rows)
  ema_decay = rules.ema_decay
  decay = ema_decay(state.step) if callable(ema_decay) else ema_decay
  return play.ctx.finish(Context.update_ema(state, decay), {**metrics, **g_metrics})


def critic_update(play: Play, state: GANState, real, labels, rows: dict, key):
  """One update of D on `real` and as many generated samples (with `labels`, when
  conditional), its regularizer's penalty and the augmentation's observation of its logits."""
  rules, n = play.rules, real.shape[0]
  keys = play.ctx.named_keys(key, KEY_NAMES, shared=('z',))
  generated_labels = fake_labels(play, key, n)
  fake, _ = generate(play, state, state.params['G'], latents(play, keys['z'], n),
                     generated_labels, noise_key(play, key))
  both = augmented(rules, state, keys['augment'], jnp.concatenate([fake, real]))
  both_labels = None if labels is None else jnp.concatenate([generated_labels, labels])
  loss_fn = functools.partial(critic_loss, play, state, both, both_labels, n, keys)
  penalty_fn = functools.partial(critic_penalty, play, state, real, fake, labels, rows, keys)
  state, (metrics, collections, real_logits, fake_logits), penalty, piece = regularized(
      play, state, 'D', rules.d_regularizer, loss_fn, penalty_fn)
  pieces = {} if piece is None else {'d_regularizer': piece}
  if penalty is not None:
    metrics = {**metrics, 'd/penalty': penalty}
  if rules.augment is not None:
    pieces['augment'] = rules.augment.observe(
        state.pieces['augment'],
        DiscriminatorOutputs(real_logits, fake_logits, functools.partial(global_mean, play)),
        state.step)
    metrics = {**metrics, **rules.augment.report(pieces['augment'])}
  return state.replace(collections={**state.collections, 'D': collections},
                       pieces={**state.pieces, **pieces}), metrics


def critic_loss(play: Play, state: GANState, both, both_labels, n: int, keys: dict, params):
  """D's loss on the generated and real samples `both` (the first `n` generated), with the
  equilibrium's measures (`jaxgan.losses.equilibrium`)."""
  loss = play.rules.loss
  logits, collections = critic_of_both(play, state, params, both, both_labels, keys['drop'])
  fake_logits, real_logits = logits[:n], logits[n:]
  metrics = {'d/loss': loss.discriminator(real_logits, fake_logits, keys['loss']),
             **equilibrium(loss, real_logits, fake_logits)}
  return metrics['d/loss'], (metrics, collections, real_logits, fake_logits)


def critic_penalty(play: Play, state: GANState, real, fake, labels, rows: dict, keys: dict,
                   params):
  """D's regularizer, on the critic as the discriminator sees its input: augmented (a draw of
  its own), so that a penalty on input gradients flows through the augmentation, as ADA's R1
  does."""
  penalty_augment = jax.random.fold_in(keys['augment'], PENALTY_AUGMENT_STREAM)
  seen = lambda samples: critic(play, state, params, augmented(
      play.rules, state, penalty_augment, samples), labels, keys['drop'])[0]
  view = CriticView(critic=seen, real=real, fake=fake, batch=rows,
                    mean=functools.partial(global_mean, play))
  return play.rules.d_regularizer.apply(state.pieces['d_regularizer'], view, keys['regularizer'],
                                        state.step)


def generator_update(play: Play, state: GANState, key, n: int, rows: dict, real=None):
  """One update of G through the critic (augmented as D's inputs are), and its regularizer;
  `real`: the real samples of `rows`, which a loss of pairs judges the generated ones against."""
  keys = play.ctx.named_keys(key, KEY_NAMES, shared=('z',))
  labels, z, noise = fake_labels(play, key, n), latents(play, keys['z'], n), noise_key(play, key)
  if real is None:
    loss_fn = functools.partial(generator_loss, play, state, z, labels, noise, keys)
  else:
    loss_fn = functools.partial(generator_loss_of_pairs, play, state, z, labels, noise, keys,
                                real, rows.get('label'))
  penalty_fn = functools.partial(generator_penalty, play, state, z, labels, noise, rows, keys)
  state, (g_loss, collections), penalty, piece = regularized(
      play, state, 'G', play.rules.g_regularizer, loss_fn, penalty_fn)
  metrics = {'g/loss': g_loss}
  if penalty is not None:
    metrics['g/penalty'] = penalty
  pieces = {} if piece is None else {'g_regularizer': piece}
  return state.replace(collections={**state.collections, 'G': collections},
                       pieces={**state.pieces, **pieces}), metrics


def generator_loss(play: Play, state: GANState, z, labels, noise, keys: dict, params):
  """G's loss: the critic's verdict on its samples."""
  fake, collections = generate(play, state, params, z, labels, noise, update=True)
  seen = augmented(play.rules, state, keys['augment'], fake)  # as D's inputs are
  logits, _ = critic(play, state, state.params['D'], seen, labels, keys['drop'])
  g_loss = play.rules.loss.generator(logits, keys['loss'])
  return g_loss, (g_loss, collections)


def generator_loss_of_pairs(play: Play, state: GANState, z, labels, noise, keys: dict, real,
                            real_labels, params):
  """G's loss of pairs: the critic's verdict on its samples against `real` ones, both seen as
  D's inputs are (as R3GAN's `AccumulateGeneratorGradients` runs D on both)."""
  fake, collections = generate(play, state, params, z, labels, noise, update=True)
  both = augmented(play.rules, state, keys['augment'], jnp.concatenate([fake, real]))
  both_labels = None if labels is None else jnp.concatenate([labels, real_labels])
  logits, _ = critic_of_both(play, state, state.params['D'], both, both_labels, keys['drop'],
                             update=False)
  n = fake.shape[0]
  g_loss = play.rules.loss.generator(logits[:n], keys['loss'], logits[n:])
  return g_loss, (g_loss, collections)


def generator_penalty(play: Play, state: GANState, z, labels, noise, rows: dict, keys: dict,
                      params):
  """G's regularizer (path length), on the codes it differentiates by."""
  codes, from_codes = mapped(play, state, params, z, labels, noise)
  view = GeneratorView(generate=from_codes, codes=codes, fake=from_codes(codes), batch=rows,
                       mean=functools.partial(global_mean, play))
  return play.rules.g_regularizer.apply(state.pieces['g_regularizer'], view, keys['regularizer'],
                                        state.step)


def regularized(play: Play, state: GANState, name: str, regularizer, loss_fn, penalty_fn):
  """One update of network `name`: `loss_fn(params) -> (loss, aux)` with the penalty
  `penalty_fn(params) -> (penalty, piece state)` added, or (`regularizer_steps`) followed by an
  update on the penalty alone, on the steps the regularizer applies. Returns the state, aux,
  the penalty and the piece's state."""
  ctx = play.ctx
  if regularizer is None:
    state, aux = ctx.update(state, name, loss_fn)
    return state, aux, None, None
  if not play.rules.regularizer_steps:
    state, (aux, penalty, piece) = ctx.update(
        state, name, functools.partial(_with_penalty, loss_fn, penalty_fn))
    return state, aux, penalty, piece
  state, aux = ctx.update(state, name, loss_fn)
  piece_name = f'{name[0].lower()}_regularizer'

  def step_on_penalty(state):
    state, (penalty, piece) = ctx.update(state, name,
                                         functools.partial(_penalty_alone, penalty_fn),
                                         measured=False)
    return state, penalty, piece
  state, penalty, piece = jax.lax.cond(
      state.step % regularizer.every == 0, step_on_penalty,
      lambda state: (state, jnp.zeros((), jnp.float32), state.pieces[piece_name]), state)
  return state, aux, penalty, piece


def _with_penalty(loss_fn, penalty_fn, params):
  loss, aux = loss_fn(params)
  penalty, piece = penalty_fn(params)
  return loss + penalty, (aux, penalty, piece)


def _penalty_alone(penalty_fn, params):
  penalty, piece = penalty_fn(params)
  return penalty, (penalty, piece)


# The networks and the draws, as one step plays them.

def networks(rules: Rules, stage: int) -> tuple[nn.Module, nn.Module]:
  """The networks as stage `stage` plays them: a network with a `stage` attribute is
  progressive (cloned at the stage), any other the same at every stage."""
  return tuple(net.clone(stage=stage) if hasattr(net, 'stage') else net
               for net in (rules.generator, rules.discriminator))


def initial_state(rules: Rules, key, stage: int) -> GANState:
  """The state at `stage`'s first step, every network initialised from `key`."""
  g, d = networks(rules, stage)
  k_g, k_d, k_train = jax.random.split(key, 3)
  labels = class_inputs(jnp.zeros((1,), jnp.int32) if rules.num_classes else None)
  g_variables = g.init({'params': k_g, 'noise': jax.random.fold_in(k_g, NOISE_STREAM)},
                       jnp.zeros((1, rules.latent_dim)), *labels)
  d_variables = d.init(k_d, jnp.zeros((1, *rules.sample_shape)), *labels, train=False)
  pieces = {name: piece.init() for name, piece in (
      ('augment', rules.augment), ('d_regularizer', rules.d_regularizer),
      ('g_regularizer', rules.g_regularizer)) if piece is not None}
  ema_decay = rules.ema_decay
  return GANState.create(k_train, {'G': g_variables, 'D': d_variables}, rules.optimizers,
                         ema=('G',) if callable(ema_decay) or ema_decay > 0 else (),
                         pieces=pieces)


def class_inputs(labels) -> tuple:
  return () if labels is None else (labels,)


def global_mean(play: Play, values):
  return play.ctx.average(jnp.mean(values))


def latents(play: Play, key, n: int):
  return play.ctx.global_rows(lambda count: jax.random.normal(key, (count, play.rules.latent_dim)),
                              n)


def fake_labels(play: Play, key, n: int):
  """Uniform classes for the generated samples (None when unconditional)."""
  if not play.rules.num_classes:
    return None
  key = jax.random.fold_in(key, LABEL_STREAM)
  return play.ctx.global_rows(
      lambda count: jax.random.randint(key, (count,), 0, play.rules.num_classes), n)


def noise_key(play: Play, key):
  return play.ctx.per_device(jax.random.fold_in(key, NOISE_STREAM))


def generate(play: Play, state: GANState, params, z, labels, key, update=False):
  return run_network(play.g, params, state.collections['G'], z, *class_inputs(labels),
                     update=update, rngs={'noise': key})


def mapped(play: Play, state: GANState, params, z, labels, key):
  """The codes a generator-side regularizer differentiates by, and `generate(codes)`."""
  g, collections = play.g, state.collections['G']
  if not hasattr(g, 'synthesize'):
    return z, lambda codes: generate(play, state, params, codes, labels, key)[0]
  codes, _ = run_network(g, params, collections, z, *class_inputs(labels), method='map',
                         rngs={'noise': key})
  return codes, lambda codes: run_network(g, params, collections, codes, *class_inputs(labels),
                                          method='synthesize', rngs={'noise': key})[0]


def critic(play: Play, state: GANState, params, samples, labels, key, update=False):
  return run_network(play.d, params, state.collections['D'], samples, *class_inputs(labels),
                     update=update, train=True, update_stats=update, rngs={'dropout': key})


def critic_of_both(play: Play, state: GANState, params, both, labels, key, update=True):
  """The critic's logits of the generated and real samples `both` (concatenated), and its
  collections (as updated, with `update`): one batch (`joint_critic`), or two, each its own
  batch (vmapped: one traced network), for a critic whose output for one sample depends on the
  others."""
  if play.rules.joint_critic:
    return critic(play, state, params, both, labels, key, update=update)
  halves = lambda x: None if x is None else x.reshape(2, x.shape[0] // 2, *x.shape[1:])
  logits, collections = jax.vmap(
      lambda samples, labels, key: critic(play, state, params, samples, labels, key,
                                          update=update),
      out_axes=(0, None))(halves(both), halves(labels), jax.random.split(key))
  return logits.reshape(-1), collections


def augmented(rules: Rules, state: GANState, key, samples):
  return samples if rules.augment is None else rules.augment.apply(state.pieces['augment'], key,
                                                                   samples)


# Sampling.

def generate_samples(rules: Rules, variables, inputs, stage=0, **options):
  """`options`: the generator's own sampling arguments (StyleGAN2's truncation_psi,
  noise_mode)."""
  labels = class_inputs(inputs.get('label'))
  return networks(rules, stage)[0].apply(variables, inputs['z'], *labels,
                                         rngs={'noise': inputs['noise']}, **options)


def inputs(rules: Rules, key, num, labels=None):
  """Latents from `key`; a conditional G's labels: `labels`, else the classes in turn."""
  drawn = {'z': jax.random.normal(key, (num, rules.latent_dim)),
           'noise': jax.random.fold_in(key, NOISE_STREAM)}
  if rules.num_classes:
    drawn['label'] = (jnp.arange(num, dtype=jnp.int32) % rules.num_classes if labels is None
                      else jnp.asarray(labels, jnp.int32))
  return drawn


def grid_inputs(rules: Rules, key, batch):
  """`grid_count` latents, or for a conditional G a row of `grid_columns` per class (the row's
  latents shared by every class)."""
  del batch
  if not rules.num_classes:
    return inputs(rules, key, rules.grid_count)
  row = inputs(rules, key, rules.grid_columns)
  return {**row, 'z': jnp.tile(row['z'], (rules.num_classes, 1)),
          'label': jnp.repeat(jnp.arange(rules.num_classes, dtype=jnp.int32), rules.grid_columns)}
