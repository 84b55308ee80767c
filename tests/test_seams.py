"""The seams the GAN family needs, each through the one loop with tiny networks: a generator that
draws its own noise, a generator-side regularizer with state, state a piece updates from the
discriminator's outputs, state whose shapes change between stages, and a game of four networks.
Each trains in `jaxgan.train.run` (checkpoints, logging, sampling) and resumes bitwise exactly;
none needed an edit of the loop or of the adversarial game."""

import json

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import linen as nn
from PIL import Image

from jaxgan import augment, configs, data, games, losses, nets, parallel, regularizers
from jaxgan.games import adversarial, cycle
from jaxgan.images import save_grid, to_uint8
from jaxgan.regularizers import GeneratorView
from jaxgan.train import run
from runs import QUIET, assert_trees_close, dynamic_fields, final_state, one_device

# The run's settings; the games below bring their own networks and pieces.
POINTS = configs.get('mlp2d').replace(batch_size=16, steps=6, log_every=1, checkpoint_every=2,
                                      sample_every=3, lr_decay='constant', ema_decay=0.9)


class NoisyGenerator(nn.Module):
  """An MLP on 2-D points plus learned-scale noise drawn from the 'noise' stream (as StyleGAN's
  noise inputs); `stage` + 1 hidden layers (a progressive network)."""
  stage: int = 0

  @nn.compact
  def __call__(self, z):
    x = z
    for i in range(self.stage + 1):
      x = nn.relu(nn.Dense(8, name=f'hidden_{i}')(x))
    x = nn.Dense(2, name='out')(x)
    scale = self.param('noise_scale', nn.initializers.constant(0.1), ())
    return x + scale * jax.random.normal(self.make_rng('noise'), x.shape)


def _points_game(generator=None, **pieces):
  return adversarial.game(
      generator or NoisyGenerator(), nets.mlp.Discriminator(widths=(8,)),
      losses.non_saturating(), {'G': optax.adam(1e-3, 0.5), 'D': optax.adam(1e-3, 0.5)},
      latent_dim=POINTS.latent_dim, sample_shape=(2,), ema_decay=POINTS.ema_decay,
      sample_key='point', grid_count=64, **pieces)


def _points():
  return data.load_examples('grid25', 0, 0)


def _train(config, workdir, game, dataset, devices=None):
  return run(config, workdir, **QUIET, parallel=devices or one_device(),
             game=game, dataset=dataset)


def _resumes_exactly(tmp_path, game, dataset, stops, config=POINTS):
  """Trains `config.steps` in one run and in runs stopped at each of `stops`; the final states
  are bitwise equal. Returns the final state."""
  _train(config, tmp_path / 'whole', game, dataset)
  for stop in stops:
    _train(config.replace(steps=stop), tmp_path / 'parts', game, dataset)
  _train(config, tmp_path / 'parts', game, dataset)
  whole = final_state(tmp_path / 'whole', game)
  assert_trees_close(dynamic_fields(final_state(tmp_path / 'parts', game)), dynamic_fields(whole),
                     rtol=0.0)
  return whole


@pytest.mark.slow
def test_a_run_continued_in_the_same_process_traces_its_step_once(tmp_path):
  """`train.run` keeps a process's recent programs: a run stopped and continued in one process
  (a notebook cell run again) neither traces nor compiles its step again; a run of another
  config, or over other devices, gets programs of its own."""
  from jaxgan.train import _programs_for
  game, made = _points_game(), []
  counted = game._replace(make_step=lambda **options: made.append(options) or
                          game.make_step(**options))
  _train(POINTS.replace(steps=2), tmp_path, counted, _points())
  _train(POINTS.replace(steps=4), tmp_path, counted, _points())
  assert int(final_state(tmp_path, game).step) == 4 and len(made) == 1
  config = configs.get('mlp2d')
  programs = _programs_for(config, None, one_device())
  assert _programs_for(config, None, one_device()) is programs
  assert _programs_for(config.replace(latent_dim=3), None, one_device()) is not programs
  assert _programs_for(config.replace(seed=7), None, one_device()) is programs  # not the game's
  assert _programs_for(config, None, one_device()) is programs
  two = parallel.DataParallel('shard_map', parallel.select_devices(2))
  assert _programs_for(config, None, two) is not programs


@pytest.mark.slow
def test_a_generator_drawing_its_own_noise(tmp_path):
  game = _points_game()
  state = _resumes_exactly(tmp_path, game, _points(), stops=(3,))
  assert float(state.params['G']['noise_scale']) != 0.1  # the noise reached the gradient
  inputs = game.inputs(jax.random.key(0), 5)
  variables = state.variables('G', ema=True)
  np.testing.assert_array_equal(game.generate(variables, inputs), game.generate(variables, inputs))
  other_noise = {**inputs, 'noise': jax.random.key(1)}
  assert not np.allclose(game.generate(variables, inputs), game.generate(variables, other_noise))


def test_the_generators_noise_is_its_own_stream():
  """The generated samples of critic update 0 draw their noise from fold_in(update key, 2) (a
  stream beside the named keys): d/fake_logit of the first step equals D(G(z, noise)) by hand."""
  game = _points_game()
  state = game.init(jax.random.key(0))
  _, metrics = jax.jit(game.make_step())(state, {'point': np.zeros((16, 2), np.float32)})
  k_update = jax.random.fold_in(jax.random.split(jax.random.fold_in(state.key, 0))[0], 0)
  z = jax.random.normal(jax.random.split(k_update, 5)[0], (16, POINTS.latent_dim))
  fake = NoisyGenerator().apply(state.variables('G'), z,
                                rngs={'noise': jax.random.fold_in(k_update, 2)})
  logits = nets.mlp.Discriminator(widths=(8,)).apply(state.variables('D'), fake, train=True)
  np.testing.assert_allclose(metrics['d/fake_logit'], logits.mean(), rtol=1e-6)


def _path_lengths_by_hand(generate, codes, directions):
  """|J_i^T y_i| for each sample i, from each sample's own Jacobian."""
  jacobians = jax.vmap(jax.jacobian(lambda code: generate(code[None])[0]))(codes)
  return jnp.sqrt(jnp.sum(jnp.einsum('n...,n...d->nd', directions, jacobians) ** 2, -1))


def test_path_length_is_stylegan2s_formula():
  """`path_length` against the per-sample Jacobians: y ~ N(0, I)/sqrt(h*w), the running mean's
  update with the batch's mean length, the penalty at the updated mean, lazy every 2."""
  kernel = jax.random.normal(jax.random.key(0), (3, 4 * 4 * 2))
  generate = lambda codes: jnp.tanh(codes @ kernel).reshape(-1, 4, 4, 2)
  codes = jax.random.normal(jax.random.key(1), (5, 3))
  view = GeneratorView(generate, codes, generate(codes), {}, jnp.mean)
  key, mean = jax.random.key(2), jnp.float32(0.3)
  penalty, new_mean = regularizers.path_length(2.0, 0.01, every=2).apply(mean, view, key, 4)
  directions = jax.random.normal(key, (5, 4, 4, 2)) / 4.0
  lengths = _path_lengths_by_hand(generate, codes, directions)
  want_mean = 0.3 + 0.01 * (lengths.mean() - 0.3)
  np.testing.assert_allclose(new_mean, want_mean, rtol=1e-6)
  np.testing.assert_allclose(penalty, 2 * 2.0 * jnp.mean((lengths - want_mean) ** 2), rtol=1e-5)
  skipped = regularizers.path_length(2.0, 0.01, every=2).apply(mean, view, key, 5)
  assert (float(skipped[0]), float(skipped[1])) == (0.0, np.float32(0.3))


@pytest.mark.slow
def test_a_generator_side_regularizer_with_state(tmp_path):
  game = _points_game(g_regularizer=regularizers.path_length(every=2))
  state = _resumes_exactly(tmp_path, game, _points(), stops=(3, 5))
  assert float(state.pieces['g_regularizer']) > 0  # the running mean moved
  records = [json.loads(line) for line in (tmp_path / 'whole' / 'metrics.jsonl').open()]
  penalties = [record['g/penalty'] for record in records]
  assert all(p > 0 for p in penalties[::2]) and all(p == 0 for p in penalties[1::2])


def test_adaptive_augmentation_moves_p_as_stylegan2_ada():
  """ADA's controller: the heuristic E[sign(D(real))] averaged over `interval` steps, then p
  moves by one rate step towards the target, and never below 0."""
  ada = augment.adaptive(augment.with_probability(augment.cutout()), batch_size=64)
  rate = 64 * 4 / 500_000
  state = ada.init()
  outputs = lambda signs: augment.DiscriminatorOutputs(jnp.asarray(signs, jnp.float32),
                                                       jnp.zeros(4), jnp.mean)
  history = []
  for step, signs in enumerate([[1, 1, 1, 1]] * 4 + [[1, -1, 1, -1]] * 4 + [[-1] * 4] * 4):
    state = ada.observe(state, outputs(signs), jnp.int32(step))
    history.append(float(state['p']))
  np.testing.assert_allclose(history, [0, 0, 0, rate, rate, rate, rate, 0, 0, 0, 0, 0],
                             atol=1e-9)
  images = jnp.ones((64, 8, 8, 1))
  never = ada.apply({**state, 'p': jnp.float32(0.0)}, jax.random.key(0), images)
  always = ada.apply({**state, 'p': jnp.float32(1.0)}, jax.random.key(0), images)
  np.testing.assert_array_equal(never, images)
  assert np.all(np.asarray(always).min(axis=(1, 2, 3)) == 0)  # every image has its hole


@pytest.mark.slow
def test_state_a_piece_updates_from_the_discriminator(tmp_path):
  """p rises when the discriminator's real logits are above the target (target -1: always),
  through the loop, and a run stopped between two adjustments resumes exactly."""
  jitter = lambda key, points: points + 0.05 * jax.random.normal(key, points.shape)
  ada = augment.adaptive(augment.with_probability(jitter), POINTS.batch_size, target=-1.0,
                         interval=4, speed_kimg=0.1)
  state = _resumes_exactly(tmp_path, _points_game(augment=ada), _points(), stops=(2, 5))
  np.testing.assert_allclose(float(state.pieces['augment']['p']), 16 * 4 / 100, rtol=1e-6)
  assert int(state.pieces['augment']['count']) == 2  # steps 5 and 6 since the adjustment


@pytest.mark.slow
def test_state_whose_shapes_change_between_stages(tmp_path):
  """A generator that gains a hidden layer at step 3: the stage-0 layers keep their trained
  values and Adam moments, the new layer starts from its initialisation, and runs stopped
  before and after the change resume exactly."""
  game = _points_game(stages=(3,))
  stage_0 = _train(POINTS.replace(steps=3), tmp_path / 'before', game, _points())
  before = final_state(tmp_path / 'before', game)
  assert set(before.params['G']) == {'hidden_0', 'out', 'noise_scale'}
  grown = games.grown(game, before, 0, 1)
  assert set(grown.params['G']) == {'hidden_0', 'hidden_1', 'out', 'noise_scale'}
  kept = lambda state: {name: state.params['G'][name] for name in ('hidden_0', 'noise_scale')}
  assert_trees_close(kept(grown), kept(before), rtol=0.0)
  assert_trees_close(grown.opt_state['G'][0].mu['hidden_0'], before.opt_state['G'][0].mu['hidden_0'],
                     rtol=0.0)
  assert grown.params['G']['out']['kernel'].shape == (8, 2)
  assert stage_0['resumed_from'] == 0
  state = _resumes_exactly(tmp_path, game, _points(), stops=(2, 4))
  assert set(state.params['G']) == {'hidden_0', 'hidden_1', 'out', 'noise_scale'}
  assert int(state.step) == POINTS.steps


class TinyTranslator(nn.Module):
  @nn.compact
  def __call__(self, x):
    return jnp.tanh(nn.Conv(x.shape[-1], (3, 3))(nn.relu(nn.Conv(4, (3, 3))(x))))


class TinyCritic(nn.Module):
  @nn.compact
  def __call__(self, x, *, train, update_stats=False):
    del train, update_stats
    x = nn.leaky_relu(nn.Conv(4, (3, 3), strides=2)(x), 0.2)
    return nn.Dense(1)(x.reshape(x.shape[0], -1))[:, 0]


CYCLE = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), batch_size=8,
                                      steps=4, log_every=1, checkpoint_every=2, sample_grid=4,
                                      ema_decay=0.0)


def _cycle_game(pool_size=50):
  networks = {'G_ab': TinyTranslator(), 'G_ba': TinyTranslator(), 'D_a': TinyCritic(),
              'D_b': TinyCritic()}
  return cycle.game(networks, {name: optax.adam(2e-4, 0.5) for name in networks},
                    sample_shape=(8, 8, 1), grid_count=16, pool_size=pool_size)


def _digits_and_negatives():
  """Unpaired domains: the digits (A, 'source') and the digits' negatives in another order."""
  digits = data.load_dataset('digits', 8, 1)
  negatives = 255 - digits[np.random.default_rng(0).permutation(len(digits))]
  return data.Dataset(data.ArrayExamples({'source': digits, 'image': negatives}))


@pytest.mark.slow
@pytest.mark.parametrize('mode, count', [('shard_map', 4), ('pmap', 2)])
def test_a_game_of_four_networks_shares_the_loop(tmp_path, mode, count):
  """CycleGAN's two generators and two discriminators in the one loop: N devices train the
  one-device run, a stopped run resumes exactly (its pools of 12, full by the second step, in
  the state), metrics are logged, grids sampled."""
  game, dataset = _cycle_game(pool_size=12), _digits_and_negatives()
  one = _resumes_exactly(tmp_path, game, dataset, stops=(2,), config=CYCLE)
  assert set(one.params) == set(one.opt_state) == {'G_ab', 'G_ba', 'D_a', 'D_b'}
  _train(CYCLE, tmp_path / 'many', game, dataset,
         parallel.DataParallel(mode, parallel.select_devices(count)))
  assert_trees_close(dynamic_fields(final_state(tmp_path / 'many', game)), dynamic_fields(one),
                     rtol=2e-5)
  records = [json.loads(line) for line in (tmp_path / 'whole' / 'metrics.jsonl').open()]
  assert [r['step'] for r in records] == [1, 2, 3, 4]
  assert {'d/loss', 'd_a/loss', 'd_b/loss', 'g/loss', 'g/cycle', 'g/identity'} <= set(records[0])
  # The grid is G_ab's translation of the run's first batch of sources.
  first = data.EpochBatches(dataset.examples, CYCLE.batch_size, CYCLE.seed).batch(0)
  grid = game.grid_inputs(None, first)
  shown = game.show(grid, game.generate(one.variables('G_ab'), grid))  # source | translation
  save_grid(to_uint8(np.asarray(shown), game.value_range), tmp_path / 'want.png',
            columns=CYCLE.sample_grid)
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'whole/samples/final.png')),
                                np.asarray(Image.open(tmp_path / 'want.png')))


def test_the_pool_answers_as_the_references_image_pool():
  """util/image_pool.py's ImagePool.query written out, image after image, with the same draws:
  the first `size` images fill the pool and pass; then each, with probability 1/2, swaps with a
  random pooled image, which is returned instead."""
  size, key = 3, jax.random.key(0)
  pool = cycle.empty_pool(size, (1,))
  images = jnp.arange(1.0, 11.0)[:, None]
  used, pool = jax.jit(cycle.query_pool)(pool, images, key)
  held, count, want = [None] * size, 0, []
  for image, k in zip(np.asarray(images), jax.random.split(key, len(images))):
    k_swap, k_index = jax.random.split(k)
    if count < size:
      held[count], count = image, count + 1
      want.append(image)
    elif float(jax.random.uniform(k_swap)) > 0.5:
      index = int(jax.random.randint(k_index, (), 0, size))
      want.append(held[index])
      held[index] = image
    else:
      want.append(image)
  np.testing.assert_array_equal(np.asarray(used), np.stack(want))
  np.testing.assert_array_equal(np.asarray(pool['images']), np.stack(held))
  assert int(pool['count']) == size and not np.array_equal(used, images)  # some swapped


def test_regularizers_as_their_own_optimizer_steps_equal_the_phases_written_out():
  """`regularizer_steps`: stylegan2-ada-pytorch's phases. On a step the regularizers apply (every
  2 here), the critic takes its main step, then a step on lazy R1 alone at the new parameters;
  the generator its main step, then one on the path length penalty alone; on the other steps
  only the main steps (and their optimizer states alone advance)."""
  generator, critic = nets.mlp.Generator(widths=(8,)), nets.mlp.Discriminator(widths=(8,))
  sgd = optax.sgd(0.1)
  game = adversarial.game(generator, critic, losses.non_saturating(), {'G': sgd, 'D': sgd},
                          latent_dim=2, sample_shape=(2,), sample_key='point',
                          d_regularizer=regularizers.r1(1.0, every=2),
                          g_regularizer=regularizers.path_length(2.0, 0.01, every=2),
                          regularizer_steps=True)
  state = game.init(jax.random.key(0))
  step = jax.jit(game.make_step())
  real = jax.random.normal(jax.random.key(5), (16, 2))
  G = lambda g, z: generator.apply({'params': g}, z)
  D = lambda d, x: critic.apply({'params': d}, x, train=True)
  sgd_step = lambda params, grads: jax.tree.map(lambda p, g: p - 0.1 * g, params, grads)
  g, d, mean_length = state.params['G'], state.params['D'], 0.0
  for i in range(2):
    state, metrics = step(state, {'point': real})
    due = i % 2 == 0
    k_d, k_g = jax.random.split(jax.random.fold_in(state.key, i))
    keys_d = jax.random.split(jax.random.fold_in(k_d, 0), 5)
    fake = G(g, jax.random.normal(keys_d[0], (16, 2)))
    d_loss = lambda d: jax.nn.softplus(-D(d, real)).mean() + jax.nn.softplus(D(d, fake)).mean()
    d = sgd_step(d, jax.grad(d_loss)(d))
    if due:
      r1 = lambda d: 2 * 0.5 * jnp.mean(jnp.sum(jax.grad(lambda x: D(d, x).sum())(real) ** 2, 1))
      d = sgd_step(d, jax.grad(r1)(d))
    keys_g = jax.random.split(k_g, 5)
    z = jax.random.normal(keys_g[0], (16, 2))
    g = sgd_step(g, jax.grad(lambda g: jax.nn.softplus(-D(d, G(g, z))).mean())(g))
    if due:
      directions = jax.random.normal(keys_g[4], (16, 2))
      lengths_at = lambda g: jnp.sqrt(jnp.sum(jax.vmap(
          lambda zi, yi: jax.grad(lambda c: jnp.sum(G(g, c[None]) * yi))(zi))(z, directions) ** 2,
          1))
      new_mean = mean_length + 0.01 * (jnp.mean(lengths_at(g)) - mean_length)
      g = sgd_step(g, jax.grad(lambda g: 2 * 2.0 * jnp.mean((lengths_at(g) - new_mean) ** 2))(g))
      mean_length = new_mean
    assert (float(metrics['d/penalty']) > 0) == due and (float(metrics['g/penalty']) > 0) == due
    assert_trees_close({'G': state.params['G'], 'D': state.params['D']}, {'G': g, 'D': d},
                       rtol=1e-5)
  np.testing.assert_allclose(state.pieces['g_regularizer'], mean_length, rtol=1e-5)


def test_ema_half_life_in_images_with_rampup():
  """stylegan2-ada-pytorch's G_ema: beta = 0.5 ** (batch / half-life images), the half-life at
  most rampup x the images seen: a copy at step 0, then the ramp, then the fixed half-life."""
  from jaxgan.step import ema_half_life
  decay = ema_half_life(kimg=10.0, batch_size=32, rampup=0.05)
  np.testing.assert_allclose(decay(jnp.asarray(0)), 0.0, atol=1e-30)
  np.testing.assert_allclose(decay(jnp.asarray(100)), 0.5 ** (32 / (100 * 32 * 0.05)), rtol=1e-6)
  np.testing.assert_allclose(decay(jnp.asarray(100_000)), 0.5 ** (32 / 10_000), rtol=1e-6)
  fixed = ema_half_life(kimg=10.0, batch_size=32)
  np.testing.assert_allclose(fixed(jnp.asarray(0)), 0.5 ** (32 / 10_000), rtol=1e-6)
