"""Progressive growing: each operation equals its definition in progressive_growing_of_gans,
written out naively; the fade equals its two ends blended; the schedule is the reference's; a run
through train.py resumes bitwise from a stop mid-fade, at a stage boundary, or a kill."""

import functools
import json
import math
import os
import signal
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import linen as nn
from jax import lax

from jaxgan import configs, data, families, games
from jaxgan.games import progressive
from jaxgan.nets import pggan
from runs import (QUIET, ROOT, assert_trees_close, calls_of_several_steps, final_state,
                  main_in_process)

NHWC = ('NHWC', 'HWIO', 'NHWC')


def _normal(shape, seed=0):
  return jnp.asarray(np.random.default_rng(seed).normal(size=shape), jnp.float32)


def _conv(x, kernel, stride=1):
  return lax.conv_general_dilated(x, kernel, (stride, stride), 'SAME', dimension_numbers=NHWC)


def test_fused_scaling_convolutions_equal_the_references():
  """`upscale2d_conv2d`: TensorFlow's conv2d_transpose (lax.conv_transpose with
  transpose_kernel, as jax documents it) of the padded 4-shift sum of the equalized kernel,
  stored [k, k, out, in]; `conv2d_downscale2d`: a stride-2 convolution with that sum / 4, which
  is a 3x3 convolution then 2x2 average pooling. Biases added after."""
  x = _normal((2, 5, 5, 3))
  up = pggan.EqualizedConv(4, scale='up')
  variables = up.init(jax.random.key(0), x)
  variables = {'params': {'weight': _normal((3, 3, 3, 4), 1), 'bias': _normal((4,), 2)}}
  w = variables['params']['weight'] * math.sqrt(2) / math.sqrt(9 * 3)
  padded = jnp.pad(w, ((1, 1), (1, 1), (0, 0), (0, 0)))
  fused = padded[1:, 1:] + padded[:-1, 1:] + padded[1:, :-1] + padded[:-1, :-1]
  want = lax.conv_transpose(x, jnp.swapaxes(fused, 2, 3), (2, 2), 'SAME', dimension_numbers=NHWC,
                            transpose_kernel=True) + variables['params']['bias']
  np.testing.assert_allclose(up.apply(variables, x), want, atol=2e-5)
  # the same as nearest-neighbour upscaling, then the kernel (flipped) as a 3x3 convolution
  upscaled = jnp.repeat(jnp.repeat(x, 2, 1), 2, 2)
  np.testing.assert_allclose(up.apply(variables, x),
                             _conv(upscaled, w[::-1, ::-1]) + variables['params']['bias'],
                             atol=2e-5)
  x8 = _normal((2, 8, 8, 3), 3)
  down = pggan.EqualizedConv(4, scale='down')
  got = down.apply(variables, x8)
  pooled = _conv(x8, w).reshape(2, 4, 2, 4, 2, 4).mean((2, 4)) + variables['params']['bias']
  np.testing.assert_allclose(got, pooled, atol=2e-5)
  np.testing.assert_allclose(got, _conv(x8, fused / 4, 2) + variables['params']['bias'],
                             atol=2e-5)


def test_equalized_layers_pixel_norm_and_scaling_written_out():
  x = _normal((3, 4, 4, 5))
  conv = pggan.EqualizedConv(6, gain=1.0)
  v = conv.init(jax.random.key(1), x)
  np.testing.assert_allclose(
      conv.apply(v, x), _conv(x, v['params']['weight'] / math.sqrt(9 * 5)) + v['params']['bias'],
      atol=1e-5)
  dense = pggan.EqualizedDense(7, gain=math.sqrt(2) / 4)
  v = dense.init(jax.random.key(2), x)
  np.testing.assert_allclose(
      dense.apply(v, x),
      x.reshape(3, -1) @ (v['params']['weight'] * math.sqrt(2) / 4 / math.sqrt(80)),
      rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(pggan.pixel_norm(x),
                             x / np.sqrt(np.mean(np.square(x), -1, keepdims=True) + 1e-8),
                             rtol=1e-5)
  np.testing.assert_array_equal(pggan.upscale2d(x)[:, 3, 5], x[:, 1, 2])
  np.testing.assert_allclose(pggan.downscale2d(x)[:, 1, 0],
                             x[:, 2:4, 0:2].mean((1, 2)), rtol=1e-6)


def _stage_networks(stage, alpha, channels=1):
  """Tiny networks growing to 16x16, at `stage` with `alpha` written into their variables."""
  sizes = dict(resolution=16, channels=channels, channel_base=64, channel_max=8)
  g, d = pggan.Generator(stage=stage, **sizes), pggan.Discriminator(stage=stage, **sizes)
  return g, d


@functools.partial(jax.jit, static_argnums=0)
def _apply(network, variables, x):
  return network.apply(variables, x)


def _with_alpha(variables, alpha):
  return {**variables, 'progress': {'alpha': jnp.float32(alpha)}}


def test_the_fade_blends_the_previous_resolution_as_the_reference():
  """Stage 2 at alpha 0 is stage 1 on the same weights (its image upscaled; the discriminator
  on the image box-filtered), at alpha 1 only the new layers count, and in between the blend is
  linear in alpha (the reference's lerp, `lerp_clip(img, images_out, lod_in - lod)`)."""
  z = _normal((4, 8))
  g2, d2 = _stage_networks(2, 0.0)
  g1, d1 = _stage_networks(1, 0.0)
  gv = jax.jit(g2.init)(jax.random.key(0), z)
  images = _apply(g2, _with_alpha(gv, 1.0), z)
  assert images.shape == (4, 16, 16, 1)
  # stage 1 on stage 2's weights (and its own ToRGB for 4x4, which stage 2 no longer has)
  previous = _apply(g1, _with_alpha(games.merged(jax.jit(g1.init)(jax.random.key(1), z), gv), 1.0), z)
  np.testing.assert_allclose(_apply(g2, _with_alpha(gv, 0.0), z), pggan.upscale2d(previous),
                             atol=1e-5)
  blend = _apply(g2, _with_alpha(gv, 0.3), z)
  np.testing.assert_allclose(blend, 0.7 * pggan.upscale2d(previous) + 0.3 * images, atol=1e-5)
  # alpha 1: the previous ToRGB does not count
  changed = jax.tree_util.tree_map_with_path(
      lambda path, leaf: leaf + 1 if 'ToRGB_lod1' in jax.tree_util.keystr(path) else leaf, gv)
  np.testing.assert_allclose(_apply(g2, _with_alpha(changed, 1.0), z), images, atol=1e-5)

  x = _normal((4, 16, 16, 1), 5)
  dv = jax.jit(d2.init)(jax.random.key(1), x)
  scores = _apply(d2, _with_alpha(dv, 1.0), x)
  dv1 = _with_alpha(games.merged(jax.jit(d1.init)(jax.random.key(2), x), dv), 1.0)
  before = _apply(d1, dv1, pggan.downscale2d(x))
  np.testing.assert_allclose(_apply(d2, _with_alpha(dv, 0.0), x), before, atol=1e-5)
  # in between: the 8x8 block's input is the blend of both paths' features (recorded)
  seen = {}

  def record(next_fun, args, kwargs, context):
    out = next_fun(*args, **kwargs)
    if context.method_name == '__call__':
      seen[context.module.name] = (args[0], out)
    return out
  with nn.intercept_methods(record):  # eagerly: a cached trace would record nothing
    d2.apply(_with_alpha(dv, 0.25), x)
  from_rgb = dv['params']['FromRGB_lod1']  # the old path: FromRGB of the image box-filtered
  old = nn.leaky_relu(_conv(pggan.downscale2d(x), from_rgb['weight'] * math.sqrt(2))
                      + from_rgb['bias'], 0.2)
  np.testing.assert_allclose(seen['8x8'][0], 0.75 * old + 0.25 * seen['16x16'][1], atol=1e-5)
  changed = jax.tree_util.tree_map_with_path(
      lambda path, leaf: leaf + 1 if 'FromRGB_lod1' in jax.tree_util.keystr(path) else leaf, dv)
  np.testing.assert_allclose(_apply(d2, _with_alpha(changed, 1.0), x), scores, atol=1e-5)
  # a larger image is box-filtered to the stage first, as the reference's networks take it
  np.testing.assert_allclose(_apply(d1, dv1, x), before, atol=1e-6)


def test_real_images_fade_and_shrink_as_the_references():
  """`process_reals`' FadeLOD (lerp toward the 2x2 mean, by lod - floor(lod) = 1 - alpha), and
  the lower levels of detail dataset_tool.py writes (float32 means per level, rounded)."""
  x = _normal((2, 8, 8, 3))
  y = x.reshape(2, 4, 2, 4, 2, 3).mean((2, 4), keepdims=True)
  y = jnp.broadcast_to(y, (2, 4, 2, 4, 2, 3)).reshape(2, 8, 8, 3)
  np.testing.assert_allclose(pggan.fade_reals(x, 0.25), x + (y - x) * 0.75, atol=1e-6)
  images = np.random.default_rng(0).integers(0, 256, (3, 16, 16, 2), np.uint8)
  img = images.astype(np.float32)
  for _ in range(2):
    img = (img[:, 0::2, 0::2] + img[:, 0::2, 1::2] + img[:, 1::2, 0::2] + img[:, 1::2, 1::2]) * 0.25
  np.testing.assert_array_equal(data.downsampled(images, 4),
                                np.rint(img).clip(0, 255).astype(np.uint8))
  np.testing.assert_array_equal(data.downsampled(images, 16), images)


def _reference_parameter_count(resolution, channels, fmap_base, fmap_max, latent):
  """Every variable progressive_growing_of_gans' `G_paper` and `D_paper` create at
  `resolution` (all ToRGB and FromRGB layers included), from their shapes in networks.py."""
  nf = lambda stage: min(int(fmap_base / 2.0 ** stage), fmap_max)
  conv = lambda k, fin, fout: k * k * fin * fout + fout
  levels = int(math.log2(resolution))
  g = latent * nf(1) * 16 + nf(1) + conv(3, nf(1), nf(1))  # 4x4: Dense, Conv
  d = conv(3, nf(1) + 1, nf(1)) + 16 * nf(1) * nf(0) + nf(0) + nf(0) + 1  # Conv, Dense0, Dense1
  for res in range(3, levels + 1):
    g += conv(3, nf(res - 2), nf(res - 1)) + conv(3, nf(res - 1), nf(res - 1))
    d += conv(3, nf(res - 1), nf(res - 1)) + conv(3, nf(res - 1), nf(res - 2))
  for res in range(2, levels + 1):
    g += conv(1, nf(res - 1), channels)  # ToRGB_lod
    d += conv(1, channels, nf(res - 1))  # FromRGB_lod
  return g, d


def test_celebahq_networks_count_the_references_parameters():
  """The preset's networks at 1024x1024 (their last stage, with the ToRGB and FromRGB layers of
  every other level added) count what the reference's create: 23.1M each, as its paper's
  Table 2 rounds them."""
  config = configs.get('pggan_celebahq')
  from jaxgan.summary import param_count
  generator, discriminator = families.networks(config)
  g = param_count(jax.eval_shape(generator.init, jax.random.key(0), jnp.zeros((1, 512)))['params'])
  d = param_count(jax.eval_shape(discriminator.init, jax.random.key(0),
                                 jnp.zeros((1, 1024, 1024, 3)))['params'])
  nf = lambda res: pggan.channels_at(res, config.channel_base, config.channel_max)
  other_torgb = sum(nf(4 * 2 ** s) * 3 + 3 for s in range(7))  # lods 2..8
  other_fromrgb = sum(3 * nf(4 * 2 ** s) + nf(4 * 2 ** s) for s in range(7))
  assert (g + other_torgb, d + other_fromrgb) == _reference_parameter_count(1024, 3, 8192, 512,
                                                                              512)
  assert round(g / 1e6, 1) == round(d / 1e6, 1) == 23.1


def _reference_lod(nimg, resolution, training_kimg, transition_kimg):
  """`TrainingSchedule.lod` of train.py at `nimg` images, lod_initial_resolution 4."""
  kimg = nimg / 1000.0
  phase_dur = training_kimg + transition_kimg
  phase_idx = int(np.floor(kimg / phase_dur))
  phase_kimg = kimg - phase_idx * phase_dur
  lod = math.log2(resolution) - 2 - phase_idx
  lod -= max(phase_kimg - training_kimg, 0.0) / transition_kimg
  return max(lod, 0.0)


def test_schedule_alpha_and_resets_are_the_references():
  """Step by step from 4x4 through the fade to 8x8 and on (batch 8, 40 images at each
  resolution, 24 to fade in): the stage is the resolution the reference trains step t at (lod
  at t * 8 images), alpha is 1 - frac(lod), and the optimizer states are reset on the steps the
  reference resets them (where the floor or the ceiling of lod changes)."""
  config = configs.get('pggan').replace(image_size=8, batch_size=8, stage_kimg=0.04,
                                        fade_kimg=0.024, channel_base=32, channel_max=4,
                                        latent_dim=4, steps=12)
  game = families.game(config)
  lod = lambda step: _reference_lod(step * 8, config.image_size, 0.04, 0.024)
  state, stage, steps = game.init(jax.random.key(0)), 0, {}
  images = np.zeros((8, 8, 8, 1), np.uint8)
  for step in range(12):
    want_stage = int(math.log2(config.image_size)) - 2 - math.floor(lod(step))
    assert game.stage(step) == want_stage, step
    if want_stage != stage:
      state, stage = games.grown(game, state, stage, want_stage), want_stage
    steps.setdefault(stage, jax.jit(game.make_step(stage=stage)))
    count_before = int(jax.tree.leaves(state.opt_state['G'])[0])
    state, metrics = steps[stage](state, {'image': data.downsampled(images, 4 * 2 ** stage)})
    want_alpha = 1 - (lod(step) - math.floor(lod(step)))
    np.testing.assert_allclose(float(metrics['progress/alpha']), want_alpha, atol=1e-6,
                               err_msg=f'step {step}')
    reset = step > 0 and (math.floor(lod(step)) != math.floor(lod(step - 1))
                          or math.ceil(lod(step)) != math.ceil(lod(step - 1)))
    count = int(jax.tree.leaves(state.opt_state['G'])[0])  # Adam's step count
    assert count == (1 if reset else count_before + 1), step
  assert stage == 1 and float(metrics['progress/alpha']) == 1.0


def test_a_progressive_step_is_the_adversarial_step_on_faded_reals():
  """The progressive game's step at a fade step equals the adversarial game's step (the same
  networks, loss, optimizers, EMA, critic apart) given the state with alpha written into both
  networks and reset optimizers, and the real images faded; and the discriminator saw the real
  batch on its own (its minibatch standard deviation over real images only)."""
  import optax

  from jaxgan import losses, regularizers
  from jaxgan.games import adversarial
  from jaxgan.step import to_model_range
  config = configs.get('pggan').replace(image_size=8, channel_base=32, channel_max=4,
                                        latent_dim=4, batch_size=8, stage_kimg=0.016,
                                        fade_kimg=0.032, steps=10)
  generator, discriminator = families.networks(config)
  optimizers = {name: optax.adam(1e-3, 0.0, 0.99, 1e-8) for name in ('G', 'D')}
  options = dict(loss=losses.wasserstein(0.001), optimizers=optimizers, latent_dim=4,
                 sample_shape=(8, 8, 1), value_range=(-1.0, 1.0), ema_decay=0.99,
                 d_regularizer=regularizers.gradient_penalty(10.0), joint_critic=False)
  game = progressive.game(generator, discriminator, resolution=8, stable_steps=2, fade_steps=4,
                          **options)
  plain = adversarial.game(generator, discriminator, stages=(3,), **options)
  state = games.grown(game, game.init(jax.random.key(0)), 0, 1).replace(step=jnp.int32(4))
  images = np.random.default_rng(0).integers(0, 256, (8, 8, 8, 1), np.uint8)
  got, metrics = jax.jit(game.make_step(stage=1))(state, {'image': images})
  alpha = jnp.float32(0.5)  # step 4: the second of the fade's 4 steps (stage 1 begins at 3)
  written = state.replace(collections={name: {**c, 'progress': {'alpha': alpha}}
                                       for name, c in state.collections.items()})
  faded = pggan.fade_reals(to_model_range(images, (-1.0, 1.0)), alpha)
  want, want_metrics = jax.jit(plain.make_step(stage=1))(written, {'image': faded})
  # Two programs compiled apart round apart: the largest difference (Adam's second moments, where
  # squaring doubles a gradient's) measured 4.3e-7 of a leaf's scale, and 1.24e-6 once the
  # im2col's gradient added its taps in another order (each sum within 1 ulp of autodiff's).
  assert_trees_close(got, want, rtol=3e-6)
  assert float(metrics['progress/alpha']) == 0.5
  real_logits = discriminator.clone(stage=1).apply(written.variables('D'), faded)
  np.testing.assert_allclose(float(metrics['d/real_logit']), float(real_logits.mean()),
                             rtol=1e-5)
  built = families.game(config)  # the preset's game sees the real batch apart too
  built_state = games.grown(built, built.init(jax.random.key(0)), 0, 1)
  _, built_metrics = jax.jit(built.make_step(stage=1))(built_state, {'image': images})
  alone = discriminator.clone(stage=1).apply(
      {**built_state.variables('D'), 'progress': {'alpha': built_metrics['progress/alpha']}},
      pggan.fade_reals(to_model_range(images, (-1.0, 1.0)), built_metrics['progress/alpha']))
  np.testing.assert_allclose(float(built_metrics['d/real_logit']), float(alone.mean()),
                             rtol=1e-5)


TINY = ['--config', 'pggan', '--set', 'image_size=8', '--set', 'channel_base=32',
        '--set', 'channel_max=4', '--set', 'latent_dim=4', '--batch-size', '8',
        '--set', 'stage_kimg=0.032', '--set', 'fade_kimg=0.032', '--set', 'eval_every=0',
        '--set', 'sample_every=5', '--devices', '1', '--no-progress',
        '--no-curves']  # stage 1: steps 5-8 fade


def _train(capsys, workdir, *args):
  code, out, err = main_in_process(capsys, '--workdir', str(workdir), *TINY, *args)
  assert code == 0, err
  return json.loads(out.splitlines()[-1])


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
  """12 steps in one run (capsys is per test: train.py's main called directly)."""
  from jaxgan.commands.train import main
  workdir = tmp_path_factory.mktemp('pggan')
  assert main(['--workdir', str(workdir), *TINY, '--steps', '12', '--checkpoint-every', '2',
               '--keep', '6']) == 0
  return workdir


@pytest.mark.slow
@pytest.mark.parametrize('stop', [7, 5])  # mid-fade; exactly at the boundary
def test_stopped_mid_fade_or_at_a_boundary_resumes_bitwise(uninterrupted, tmp_path, capsys,
                                                           stop):
  _train(capsys, tmp_path, '--steps', str(stop), '--checkpoint-every', '2')
  summary = _train(capsys, tmp_path, '--steps', '12', '--checkpoint-every', '2')
  assert summary['resumed_from'] == stop
  assert_trees_close(final_state(tmp_path), final_state(uninterrupted), rtol=0.0)


@pytest.mark.slow
def test_steps_in_calls_of_three_stop_at_each_stage_boundary(uninterrupted, tmp_path, capsys,
                                                             monkeypatch):
  """`--steps-per-call 3`: steps 0-3 in one call, single steps from 3 to 6 (stage 1 starts
  after step 5), steps 6-9 and 9-12, in the fade, in one call each: the uninterrupted run's
  state. Not bit for bit: XLA compiles the steps inside a loop on their own, and Adam's moments
  carry the last bits' differences (1.1e-6 of a first moment's scale), so within
  test_parallel's tolerance for sums in another order."""
  calls = calls_of_several_steps(monkeypatch)
  _train(capsys, tmp_path, '--steps', '12', '--set', 'sample_every=12', '--steps-per-call', '3')
  assert calls == [3, 3, 3]
  assert_trees_close(final_state(tmp_path), final_state(uninterrupted), rtol=2e-5)


@pytest.mark.slow
def test_killed_in_each_stage_and_mid_fade_resumes_bitwise(uninterrupted, tmp_path, capsys):
  """SIGKILL in stage 0, mid-fade and after the fade (a checkpoint every step), the same command
  started again after each kill, then to the end."""
  command = [sys.executable, str(ROOT / 'train.py'), '--workdir', str(tmp_path), *TINY,
             '--steps', '12', '--checkpoint-every', '1']
  # As this process's devices (conftest.py): the compilation cache serves its programs.
  environment = {**os.environ, 'JAX_NUM_CPU_DEVICES': '8'}
  for kill_after in (3, 6, 9):
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               env=environment)
    deadline = time.time() + 240
    while not (tmp_path / 'checkpoints' / str(kill_after)).exists():
      assert process.poll() is None and time.time() < deadline, 'the run ended before the kill'
      time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    assert process.wait() == -signal.SIGKILL
  summary = _train(capsys, tmp_path, '--steps', '12', '--checkpoint-every', '1')
  assert 9 <= summary['resumed_from'] < 12
  assert_trees_close(final_state(tmp_path), final_state(uninterrupted), rtol=0.0)


@pytest.mark.slow
def test_samples_show_the_stage_enlarged_and_bad_sizes_are_one_line(uninterrupted, tmp_path,
                                                                     capsys):
  """`jaxgan.sample` (as the run's sample grids) draws the stage's images at the final size:
  at step 4 (stage 0, 4x4) each pixel twice as wide and high; alpha is logged every step, 1
  at the end of the fade (step 8)."""
  from jaxgan.sample import generate
  early, late = generate(uninterrupted, 4, step=4), generate(uninterrupted, 4)
  assert early.shape == late.shape == (4, 8, 8, 1)
  np.testing.assert_array_equal(early, pggan.upscale2d(early[:, ::2, ::2]))
  assert not np.array_equal(late, pggan.upscale2d(late[:, ::2, ::2]))
  log = [json.loads(line) for line in (uninterrupted / 'metrics.jsonl').read_text().splitlines()]
  assert log[-1]['progress/alpha'] == 1.0
  code, _, err = main_in_process(capsys, '--config', 'pggan', '--set', 'image_size=12',
                                 '--workdir', str(tmp_path))
  assert code == 2 and len(err.strip().splitlines()) == 1 and 'power of two' in err
  code, _, err = main_in_process(capsys, '--workdir', str(uninterrupted), *TINY, '--steps',
                                 '14', '--set', 'stage_kimg=0.064')  # another schedule
  assert code == 2 and len(err.strip().splitlines()) == 1 and 'stage_kimg' in err


@pytest.mark.slow
def test_celebahq_preset_summarizes_each_stage_and_trains_its_first_stages(tmp_path, capsys):
  """`--summary` prints both networks at each of the 9 stages; a few steps at the lowest stages
  (4x4, then 8x8 fading in) at a reduced batch, on 1024x1024 images the loader box-filters down,
  data-parallel on 2 devices (minibatch standard deviation groups per device, as the reference
  groups per GPU)."""
  from jaxgan import parallel
  from jaxgan.train import run
  code, out, _ = main_in_process(capsys, '--config', 'pggan_celebahq', '--summary')
  assert code == 0 and out.count('Model: generator, stage') == 9
  assert 'generator, stage 8 (1024x1024)' in out and 'Total params: 23,071,606' in out
  config = configs.get('pggan_celebahq').replace(batch_size=4, stage_kimg=0.008, fade_kimg=0.008,
                                                 steps=4, sample_grid=2, checkpoint_every=4)
  images = np.random.default_rng(0).integers(0, 256, (8, 1024, 1024, 3), np.uint8)
  summary = run(config, tmp_path, **QUIET,
                dataset=data.Dataset(data.ArrayExamples({'image': images})),
                parallel=parallel.DataParallel('shard_map', parallel.select_devices(2)))
  assert summary['final']['progress/alpha'] == 0.5 and np.isfinite(summary['final']['d/loss'])
  state = final_state(tmp_path)
  assert '8x8' in state.params['G'] and '16x16' not in state.params['G']
