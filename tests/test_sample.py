"""Sampling a workdir: `jaxgan.sample` and `jaxgan.sample.generate` read the latest checkpoint's
EMA generator, seeded; classes of a conditional run; latent walks."""

import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from PIL import Image

from jaxgan import data, families
from jaxgan.images import save_grid, to_uint8
from jaxgan.sample import generate
from jaxgan.commands import sample as sample_command

from runs import TINY_DIGITS, final_state, main_in_process, run_tiny


@pytest.mark.slow
def test_sample_loads_the_generator_and_is_seeded(uninterrupted, tmp_path):
  first = generate(uninterrupted, 6, seed=3)
  assert first.shape == (6, 16, 16, 1)
  np.testing.assert_array_equal(first, generate(uninterrupted, 6, seed=3))
  assert not np.array_equal(first, generate(uninterrupted, 6, seed=4))
  out = tmp_path / 'grid.png'
  result = subprocess.run([sys.executable, '-m', 'jaxgan.sample', '--workdir', str(uninterrupted),
                           '--num', '9', '--out', str(out)], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr
  assert out.stat().st_size > 0
  missing = subprocess.run([sys.executable, '-m', 'jaxgan.sample', '--workdir',
                            str(tmp_path / 'none'), '--out', str(out)], capture_output=True,
                           text=True)
  assert missing.returncode == 2 and missing.stderr.count('\n') == 1


@pytest.mark.slow
def test_samples_and_the_sampling_tool_use_the_ema_generator(tmp_path):
  run_tiny(TINY_DIGITS, tmp_path)
  state = final_state(tmp_path)
  generator = families.networks(TINY_DIGITS)[0]

  def grid(params):
    grid_key = jax.random.fold_in(jax.random.key(TINY_DIGITS.seed), 1)  # the run's grid latents
    images = generator.apply(
        params, jax.random.normal(grid_key, (TINY_DIGITS.sample_grid ** 2, TINY_DIGITS.latent_dim)))
    save_grid(to_uint8(np.asarray(images)), tmp_path / 'expected.png', columns=TINY_DIGITS.sample_grid)
    return np.asarray(Image.open(tmp_path / 'expected.png'))

  final = np.asarray(Image.open(tmp_path / 'samples' / 'final.png'))
  np.testing.assert_array_equal(final, grid(state.variables('G', ema=True)))
  assert not np.array_equal(final, grid(state.variables('G')))  # the EMA is not the raw generator
  latents = jax.random.normal(jax.random.key(3), (5, TINY_DIGITS.latent_dim))
  np.testing.assert_array_equal(generate(tmp_path, 5, seed=3),
                                generator.apply(state.variables('G', ema=True), latents))


@pytest.mark.slow
def test_sampling_a_class_of_a_conditional_run(tmp_path, capsys):
  config = TINY_DIGITS.replace(conditional=True, spectral_norm=True, loss='hinge', d_dropout=0.0)
  run_tiny(config, tmp_path)
  state = final_state(tmp_path)
  generator = families.networks(config.replace(classes=tuple('0123456789')))[0]
  latents = jax.random.normal(jax.random.key(0), (4, config.latent_dim))
  for asked in ('3', 3):  # a name or an index (the digits' names are their indices)
    np.testing.assert_array_equal(
        generate(tmp_path, 4, class_=str(asked)),
        generator.apply(state.variables('G', ema=True), latents, jnp.full((4,), 3, jnp.int32)))
  every_class = generator.apply(state.variables('G', ema=True), latents,
                                jnp.arange(4, dtype=jnp.int32))
  np.testing.assert_array_equal(generate(tmp_path, 4), every_class)
  for args, message in ((['--class', '10'], 'the run has 10 classes, 0..9'),
                        (['--class', 'seven'], 'the run has 10 classes')):
    code, _, stderr = _sample_in_process(capsys, '--workdir', str(tmp_path), '--out',
                                         str(tmp_path / 'x.png'), *args)
    assert code == 2 and stderr.count('\n') == 1 and message in stderr, stderr
  # A synthetic labelled dataset: 3 images per class, read back as train.py reads a folder.
  code, out, _ = _sample_in_process(capsys, '--workdir', str(tmp_path), '--num', '3', '--out',
                                    str(tmp_path / 'synthetic') + '/')
  assert code == 0 and 'wrote 30 images' in out
  dataset = data.load_examples(str(tmp_path / 'synthetic'), 8, 1, tmp_path / 'cache',
                               labels=True)
  assert dataset.classes == tuple('0123456789') and len(dataset.examples) == 30
  read = dataset.examples.batch(np.arange(30))
  sevens = read['image'][read['label'] == 7]
  want = generate(tmp_path, 3, class_='7', key=jax.random.fold_in(jax.random.key(0), 7))
  np.testing.assert_array_equal(sevens, to_uint8(want))


@pytest.mark.slow
def test_class_on_an_unconditional_run_is_one_line(uninterrupted, tmp_path, capsys):
  code, _, stderr = _sample_in_process(capsys, '--workdir', str(uninterrupted), '--class', '3',
                                       '--out', str(tmp_path / 'x.png'))
  assert code == 2 and stderr.count('\n') == 1 and 'not class-conditional' in stderr, stderr


def _sample_in_process(capsys, *argv):
  from jaxgan.commands.sample import main
  return main_in_process(capsys, *argv, main=main)


@pytest.mark.slow
def test_interpolation_walks_spherically_between_latents(uninterrupted, tmp_path, capsys):
  """`--interpolate K --frames F` on a DCGAN run: every F-th frame is a keyframe latent's sample,
  the frames between are the generator at the spherical interpolation of two latents (written
  out), and the walk closes on the first latent; .npy, .png and .mp4 outputs; one line for a
  wrong --out."""
  import imageio.v3 as iio

  from jaxgan import sample
  frames = sample.interpolation(uninterrupted, keyframes=3, frames=4, seed=2)
  assert frames.shape == (12, 16, 16, 1)
  np.testing.assert_allclose(frames[::4], generate(uninterrupted, 3, seed=2), atol=1e-6)
  generator = sample.Generator(uninterrupted)
  z = np.asarray(generator.game.inputs(jax.random.key(2), 3)['z'], np.float64)
  a, b, t = z[2], z[0], 0.75  # frame 11: three quarters of the way from the last latent back
  omega = np.arccos(a @ b / np.linalg.norm(a) / np.linalg.norm(b))
  between = (np.sin((1 - t) * omega) * a + np.sin(t * omega) * b) / np.sin(omega)
  np.testing.assert_allclose(frames[11], generator.draw(jax.random.key(0), 1, latents=between[
      None].astype(np.float32))[0], atol=1e-5)
  for suffix in ('npy', 'png', 'mp4'):
    code, _, err = main_in_process(capsys, '--workdir', str(uninterrupted), '--interpolate', '3',
                                   '--frames', '4', '--seed', '2', '--out',
                                   str(tmp_path / f'walk.{suffix}'), main=sample_command.main)
    assert code == 0, err
  np.testing.assert_allclose(np.load(tmp_path / 'walk.npy'), frames, atol=1e-6)
  assert iio.imread(tmp_path / 'walk.mp4', plugin='FFMPEG').shape[0] == 12
  code, _, err = main_in_process(capsys, '--workdir', str(uninterrupted), '--interpolate', '3',
                                 '--out', str(tmp_path / 'walk.txt'), main=sample_command.main)
  assert code == 2 and err.count('\n') == 1 and '.gif' in err

