"""The adversarial game: a generator `G` against a discriminator `D`.

One step does what the seed's `GAN.train_step` does: a discriminator update on a generated and a
real batch, then a generator update through the freshly updated discriminator, with fresh latents
for each. Around that every piece is a value: the loss (`jaxgan.losses`), regularizers on the
discriminator's side (R1, the gradient penalty) and on the generator's (path length)
(`jaxgan.regularizers`), an augmentation of everything the discriminator sees, which may adapt to
the discriminator's outputs (`jaxgan.augment`), and `n_critic` discriminator updates per generator
update (WGAN), each on its own real batch.

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

import jax
import jax.numpy as jnp
from flax import linen as nn

from jaxgan.augment import Augmentation, DiscriminatorOutputs
from jaxgan.games import Game, merged
from jaxgan.losses import GANLoss, equilibrium
from jaxgan.regularizers import CriticView, GeneratorView, Regularizer
from jaxgan.state import GANState
from jaxgan.step import Context, run_network, to_model_range

VALUE_RANGE = (0.0, 1.0)  # the DCGAN generator ends in a sigmoid, like the seed
KEY_NAMES = ('z', 'drop', 'loss', 'augment', 'regularizer')
LABEL_STREAM = 1  # fold_in ids of streams beside the named keys
NOISE_STREAM = 2
GROW_STREAM = 3
PENALTY_AUGMENT_STREAM = 1  # folded into the augment key: the penalties' own augmentation


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

  `optimizers`: `{'G': ..., 'D': ...}`. `batch[sample_key]` holds the real samples, `n *
  n_critic` rows (row `i * n_critic + k`: the i-th of critic update k); uint8 images are mapped
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
  together, as the seed's `train_step` does; False: on each batch apart (the same weights,
  vmapped), as stylegan2-ada-pytorch and progressive_growing_of_gans do, for a discriminator
  whose output for one sample depends on the others in its batch (minibatch standard
  deviation: otherwise its groups would mix generated and real samples).
  """
  def networks(stage):
    """The networks as stage `stage` plays them: a network with a `stage` attribute is
    progressive (cloned at the stage), any other the same at every stage."""
    return tuple(net.clone(stage=stage) if hasattr(net, 'stage') else net
                 for net in (generator, discriminator))

  def stage_of(step):
    return bisect.bisect_right(stages, step)

  def class_inputs(labels):
    return () if labels is None else (labels,)

  # One program for the whole state: run eagerly, the networks' forward passes and every
  # optimizer and EMA leaf would dispatch (and compile) on their own (seconds at 64x64; a
  # tiny PGGAN's stage took 4.6 s to initialise so, against about 1 s as one program).
  @functools.partial(jax.jit, static_argnums=1)
  def init_at(key, stage):
    g, d = networks(stage)
    k_g, k_d, k_train = jax.random.split(key, 3)
    labels = class_inputs(jnp.zeros((1,), jnp.int32) if num_classes else None)
    g_variables = g.init({'params': k_g, 'noise': jax.random.fold_in(k_g, NOISE_STREAM)},
                         jnp.zeros((1, latent_dim)), *labels)
    d_variables = d.init(k_d, jnp.zeros((1, *sample_shape)), *labels, train=False)
    pieces = {name: piece.init() for name, piece in (
        ('augment', augment), ('d_regularizer', d_regularizer), ('g_regularizer', g_regularizer))
        if piece is not None}
    return GANState.create(k_train, {'G': g_variables, 'D': d_variables}, optimizers,
                           ema=('G',) if callable(ema_decay) or ema_decay > 0 else (),
                           pieces=pieces)

  def init(key):
    return init_at(jax.random.fold_in(key, 0), 0)

  def grow(state, stage):
    fresh = init_at(jax.random.fold_in(jax.random.fold_in(state.key, GROW_STREAM), stage), stage)
    return merged(fresh, state)

  def make_step(axis_name: str | None = None, stage: int = 0):
    ctx = Context(optimizers, axis_name)
    g, d = networks(stage)

    def global_mean(values):
      return ctx.average(jnp.mean(values))

    def latents(key, n):
      return ctx.global_rows(lambda count: jax.random.normal(key, (count, latent_dim)), n)

    def fake_labels(key, n):
      """Uniform classes for the generated samples (None when unconditional)."""
      if not num_classes:
        return None
      key = jax.random.fold_in(key, LABEL_STREAM)
      return ctx.global_rows(lambda count: jax.random.randint(key, (count,), 0, num_classes), n)

    def noise_key(key):
      return ctx.per_device(jax.random.fold_in(key, NOISE_STREAM))

    def generate(state, params, z, labels, key, update=False):
      return run_network(g, params, state.collections['G'], z, *class_inputs(labels),
                         update=update, rngs={'noise': key})

    def mapped(state, params, z, labels, key):
      """The codes a generator-side regularizer differentiates by, and `generate(codes)`."""
      if not hasattr(g, 'synthesize'):
        return z, lambda codes: generate(state, params, codes, labels, key)[0]
      codes, _ = run_network(g, params, state.collections['G'], z, *class_inputs(labels),
                             method='map', rngs={'noise': key})
      return codes, lambda codes: run_network(
          g, params, state.collections['G'], codes, *class_inputs(labels), method='synthesize',
          rngs={'noise': key})[0]

    def critic(state, params, samples, labels, key, update=False):
      return run_network(d, params, state.collections['D'], samples, *class_inputs(labels),
                         update=update, train=True, update_stats=update, rngs={'dropout': key})

    def critic_of_both(state, params, both, labels, key):
      """The critic's logits of the generated and real samples `both` (concatenated), and its
      collections as updated: one batch (`joint_critic`), or two, each its own batch (vmapped:
      one traced network), for a critic whose output for one sample depends on the others."""
      if joint_critic:
        return critic(state, params, both, labels, key, update=True)
      halves = lambda x: None if x is None else x.reshape(2, x.shape[0] // 2, *x.shape[1:])
      logits, collections = jax.vmap(
          lambda samples, labels, key: critic(state, params, samples, labels, key, update=True),
          out_axes=(0, None))(halves(both), halves(labels), jax.random.split(key))
      return logits.reshape(-1), collections

    def augmented(state, key, samples):
      return samples if augment is None else augment.apply(state.pieces['augment'], key, samples)

    def regularized(state, name, regularizer, loss_fn, penalty_fn):
      """One update of network `name`: `loss_fn(params) -> (loss, aux)` with the penalty
      `penalty_fn(params) -> (penalty, piece state)` added, or (`regularizer_steps`) followed
      by an update on the penalty alone, on the steps the regularizer applies. Returns the
      state, aux, the penalty and the piece's state."""
      if regularizer is None:
        state, aux = ctx.update(state, name, loss_fn)
        return state, aux, None, None
      if not regularizer_steps:
        def joined(params):
          loss, aux = loss_fn(params)
          penalty, piece = penalty_fn(params)
          return loss + penalty, (aux, penalty, piece)
        state, (aux, penalty, piece) = ctx.update(state, name, joined)
        return state, aux, penalty, piece
      state, aux = ctx.update(state, name, loss_fn)
      piece_name = f'{name[0].lower()}_regularizer'

      def penalty_loss(params):
        penalty, piece = penalty_fn(params)
        return penalty, (penalty, piece)

      def step_on_penalty(state):
        state, (penalty, piece) = ctx.update(state, name, penalty_loss, measured=False)
        return state, penalty, piece
      state, penalty, piece = jax.lax.cond(
          state.step % regularizer.every == 0, step_on_penalty,
          lambda state: (state, jnp.zeros((), jnp.float32), state.pieces[piece_name]), state)
      return state, aux, penalty, piece

    def critic_update(state, real, labels, rows, key):
      n = real.shape[0]
      keys = ctx.named_keys(key, KEY_NAMES, shared=('z',))
      generated_labels = fake_labels(key, n)
      fake, _ = generate(state, state.params['G'], latents(keys['z'], n), generated_labels,
                         noise_key(key))
      both = augmented(state, keys['augment'], jnp.concatenate([fake, real]))
      both_labels = None if labels is None else jnp.concatenate([generated_labels, labels])

      def loss_fn(params):
        logits, collections = critic_of_both(state, params, both, both_labels, keys['drop'])
        fake_logits, real_logits = logits[:n], logits[n:]
        metrics = {'d/loss': loss.discriminator(real_logits, fake_logits, keys['loss']),
                   **equilibrium(loss, real_logits, fake_logits)}
        return metrics['d/loss'], (metrics, collections, real_logits, fake_logits)

      def penalty_fn(params):
        # The critic as the discriminator sees its input, augmented (a draw of its own), so a
        # penalty on input gradients flows through the augmentation, as ADA's R1 does.
        penalty_augment = jax.random.fold_in(keys['augment'], PENALTY_AUGMENT_STREAM)
        seen = lambda samples: critic(state, params, augmented(state, penalty_augment, samples),
                                      labels, keys['drop'])[0]
        view = CriticView(critic=seen, real=real, fake=fake, batch=rows, mean=global_mean)
        return d_regularizer.apply(state.pieces['d_regularizer'], view, keys['regularizer'],
                                   state.step)

      state, (metrics, collections, real_logits, fake_logits), penalty, piece = regularized(
          state, 'D', d_regularizer, loss_fn, penalty_fn)
      pieces = {} if piece is None else {'d_regularizer': piece}
      if penalty is not None:
        metrics = {**metrics, 'd/penalty': penalty}
      if augment is not None:
        pieces['augment'] = augment.observe(
            state.pieces['augment'], DiscriminatorOutputs(real_logits, fake_logits, global_mean),
            state.step)
        metrics = {**metrics, **augment.report(pieces['augment'])}
      return state.replace(collections={**state.collections, 'D': collections},
                           pieces={**state.pieces, **pieces}), metrics

    def generator_update(state, key, n, rows):
      keys = ctx.named_keys(key, KEY_NAMES, shared=('z',))
      labels, z, noise = fake_labels(key, n), latents(keys['z'], n), noise_key(key)

      def loss_fn(params):
        fake, collections = generate(state, params, z, labels, noise, update=True)
        logits, _ = critic(state, state.params['D'], augmented(state, keys['augment'], fake),
                           labels, keys['drop'])
        g_loss = loss.generator(logits, keys['loss'])
        return g_loss, (g_loss, collections)

      def penalty_fn(params):
        codes, from_codes = mapped(state, params, z, labels, noise)
        view = GeneratorView(generate=from_codes, codes=codes, fake=from_codes(codes),
                             batch=rows, mean=global_mean)
        return g_regularizer.apply(state.pieces['g_regularizer'], view, keys['regularizer'],
                                   state.step)

      state, (g_loss, collections), penalty, piece = regularized(
          state, 'G', g_regularizer, loss_fn, penalty_fn)
      metrics = {'g/loss': g_loss}
      if penalty is not None:
        metrics['g/penalty'] = penalty
      pieces = {} if piece is None else {'g_regularizer': piece}
      return state.replace(collections={**state.collections, 'G': collections},
                           pieces={**state.pieces, **pieces}), metrics

    def train_step(state: GANState, batch: dict):
      key = jax.random.fold_in(state.key, state.step)
      k_d, k_g = jax.random.split(key)
      n = batch[sample_key].shape[0] // n_critic
      per_update = lambda rows: jnp.swapaxes(rows.reshape(n, n_critic, *rows.shape[1:]), 0, 1)
      updates = jax.tree.map(per_update, batch)  # each entry: (n_critic, n, ...)
      real = to_model_range(updates[sample_key], value_range)
      # A Python loop, not lax.scan: XLA:CPU runs the convolutions inside a while loop about
      # 10x slower (wgan_gp's step: 4.2 s as a scan, 0.42 s unrolled).
      for i in range(n_critic):
        rows = jax.tree.map(lambda entry: entry[i], updates)
        state, metrics = critic_update(state, real[i], rows['label'] if num_classes else None,
                                       rows, jax.random.fold_in(k_d, i))  # the last update's
      state, g_metrics = generator_update(state, k_g, n, rows)
      decay = ema_decay(state.step) if callable(ema_decay) else ema_decay
      return ctx.finish(Context.update_ema(state, decay), {**metrics, **g_metrics})

    return train_step

  def generate_samples(variables, inputs, stage=0, **options):
    """`options`: the generator's own sampling arguments (StyleGAN2's truncation_psi,
    noise_mode)."""
    labels = class_inputs(inputs.get('label'))
    return networks(stage)[0].apply(variables, inputs['z'], *labels,
                                    rngs={'noise': inputs['noise']}, **options)

  def inputs(key, num, labels=None):
    """Latents from `key`; a conditional G's labels: `labels`, else the classes in turn."""
    drawn = {'z': jax.random.normal(key, (num, latent_dim)),
             'noise': jax.random.fold_in(key, NOISE_STREAM)}
    if num_classes:
      drawn['label'] = (jnp.arange(num, dtype=jnp.int32) % num_classes if labels is None
                        else jnp.asarray(labels, jnp.int32))
    return drawn

  def grid_inputs(key, batch):
    """`grid_count` latents, or for a conditional G a row of `grid_columns` per class (the
    row's latents shared by every class)."""
    del batch
    if not num_classes:
      return inputs(key, grid_count)
    row = inputs(key, grid_columns)
    return {**row, 'z': jnp.tile(row['z'], (num_classes, 1)),
            'label': jnp.repeat(jnp.arange(num_classes, dtype=jnp.int32), grid_columns)}

  return Game(init=init, make_step=make_step, generate=generate_samples, grid_inputs=grid_inputs,
              inputs=inputs, sampler='G', value_range=value_range, optimizers=optimizers,
              stage=stage_of, grow=grow,
              batches_per_step=n_critic)
