"""ADA: the augmentation pipeline equals stylegan2-ada-pytorch's, and p lives in the state.

`fixtures/ada_reference.npz` was recorded by `tools/record_ada.py`: the reference's
`AugmentPipe` at p = 1 with `debug_percentile` (every random value fixed at a percentile, the
reference's own test hook) for each transformation alone and the whole 'bgc' pipeline, on RGB and
grey images. No torch needed here.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import ada

FIXTURE = np.load(Path(__file__).parent / 'fixtures' / 'ada_reference.npz')
OPS = ('xflip', 'rotate90', 'xint', 'scale', 'rotate', 'aniso', 'xfrac', 'brightness',
       'contrast', 'lumaflip', 'hue', 'saturation')


@pytest.mark.parametrize('name', [*OPS, 'bgc'])
def test_each_transformation_equals_the_references(name):
  """To 1e-4 (measured: about 1e-6) on RGB and grey images, at two percentiles: the matrices,
  the reflect padding, the sym6 up/downsampling, the bilinear sampling, the colour rules."""
  spec = 'bgc' if name == 'bgc' else (name,)
  changes = []
  for percentile in (0.8, 0.3):
    augment = jax.jit(ada.pipeline(spec, percentile=percentile))
    for kind in ('rgb', 'grey'):
      got = augment(jax.random.key(0), jnp.asarray(FIXTURE[kind]), 1.0)
      want = FIXTURE[f'{name}/{percentile}/{kind}']
      assert got.shape == want.shape
      np.testing.assert_allclose(got, want, atol=1e-4, err_msg=f'{name} {percentile} {kind}')
      if name not in ('hue', 'saturation') or kind == 'rgb':  # grey: no hue, no saturation
        changes.append(np.abs(want - FIXTURE[kind]).max())
  assert max(changes) > 0.05  # the transformation did something (flips: at one percentile)


def test_at_p_zero_the_pipeline_passes_images_through():
  """p = 0: no transformation; what remains is the geometric chain's reconstruction (the sym6
  wavelet's up- and downsampling), exact to float rounding."""
  images = jax.random.uniform(jax.random.key(0), (4, 16, 16, 3), minval=-1, maxval=1)
  out = jax.jit(ada.pipeline('bgc'))(jax.random.key(1), images, 0.0)
  np.testing.assert_allclose(out, images, atol=1e-4)


def test_each_transformation_applies_with_probability_p():
  """x-flip alone at p = 0.5: a flip (i = 1, itself drawn with probability 1/2) on a quarter of
  the images; the rest pass through."""
  images = jax.random.uniform(jax.random.key(0), (800, 8, 8, 1))
  out = jax.jit(ada.pipeline(('xflip',)))(jax.random.key(3), images, 0.5)
  changed = np.abs(np.asarray(out - images)).reshape(800, -1).max(1) > 1e-3
  assert 0.2 < changed.mean() < 0.3, changed.mean()


def test_each_draw_of_a_matrix_is_its_own():
  """A matrix's values come from three [n, DRAW_COLUMNS] draws handed out a column at a time:
  successive draws are uncorrelated, each kind from its own key, a fixed percentile fixes the
  values but not the choices, and a matrix asking for more columns than there are is an error."""
  n = 2000
  uniform, normal, chosen = ada._draws(jax.random.key(0), n, None)
  draws = [uniform(), uniform((n, 2)), normal(), normal((n, 2)), chosen(0.5), chosen(0.5, (n, 1))]
  columns = np.concatenate([np.asarray(d, np.float32).reshape(n, -1) for d in draws], 1)
  correlation = np.corrcoef(columns.T) - np.eye(columns.shape[1])
  assert np.abs(correlation).max() < 0.1, np.abs(correlation).max()
  assert 0.45 < columns[:, -2:].mean() < 0.55
  fixed_uniform, fixed_normal, fixed_chosen = ada._draws(jax.random.key(0), n, 0.8)
  np.testing.assert_allclose(fixed_uniform(), 0.8)
  np.testing.assert_allclose(fixed_normal(), 0.5951, atol=1e-4)  # erfinv(0.6)
  assert 0.75 < float(np.mean(fixed_chosen(0.8))) < 0.85
  normal((n, ada.DRAW_COLUMNS - 3))  # the columns left
  with pytest.raises(ValueError, match='DRAW_COLUMNS'):
    normal()


def test_gradients_flow_through_the_pipeline():
  images = jax.random.uniform(jax.random.key(0), (4, 16, 16, 3))
  augment = ada.pipeline('bgc')
  gradient = jax.jit(jax.grad(lambda x: jnp.sum(augment(jax.random.key(2), x, 0.8) ** 2)))(images)
  assert np.all(np.isfinite(gradient)) and np.abs(gradient).mean() > 0.1


@pytest.mark.slow
def test_ada_p_is_logged_saved_and_resumed_exactly(tmp_path):
  """`--set augment=ada`: p and the heuristic's running sums are state; metrics.jsonl logs
  augment/p; a run stopped and resumed ends bitwise equal to one run (the reference restarts p at
  0 on resume)."""
  import json

  from jaxgan import configs
  from runs import resumes_exactly
  config = configs.get('digits').replace(
      image_size=8, g_base=4, g_widths=(8,), d_widths=(8,), g_dense_features=8, latent_dim=4,
      batch_size=8, steps=8, checkpoint_every=4, log_every=1, eval_every=0, augment='ada',
      ada_kimg=0.1, ada_target=-1.0, loss='non_saturating', sample_grid=2)  # p only rises
  whole = resumes_exactly(config, tmp_path, stop=4)
  logged = [json.loads(line)['augment/p'] for line in (tmp_path / 'whole' / 'metrics.jsonl')
            .open()]
  assert logged == pytest.approx([0, 0, 0, 0.32, 0.32, 0.32, 0.32, 0.64])  # 8 x 4 / 100 per 4 steps
  assert float(whole.pieces['augment']['p']) == logged[-1]
