"""FID's Inception network: its features equal pytorch-fid's on the same weights; its weights'
layout; the Inception Score's logits. The metrics on its features: `test_metrics.py`.

`fixtures/inception_reference.npz` was recorded by `tools/record_inception.py`: pytorch-fid
0.3.0's network with `random_params(seed)` as its weights, its pool3 features of real images (the
digits, as RGB, at 32, 64 and 320 pixels: the resize to 299 both enlarges and shrinks) and its `calculate_frechet_distance` on two pairs of
statistics. Here the same weights go into jaxgan's network: no torch needed.
"""

from pathlib import Path

import jax
import numpy as np
import pytest

from jaxgan.evaluate import inception

FIXTURE = np.load(Path(__file__).parent / 'fixtures' / 'inception_reference.npz')


@pytest.fixture(scope='module')
def features():
  params = inception.random_params(int(FIXTURE['seed']))
  network = jax.jit(inception.FIDInception().apply)
  return {size: np.asarray(network({'params': params}, FIXTURE[f'images_{size}'] / 255.0))
          for size in (32, 64, 320)}


@pytest.mark.parametrize('size', [32, 64, 320])
def test_pool3_features_equal_pytorch_fids(features, size):
  """To 1e-4 of the features' scale: float32 convolutions summed in another order through 94
  layers (measured: about 1e-6)."""
  want = FIXTURE[f'features_{size}']
  assert features[size].shape == want.shape == (4, 2048)
  error = np.abs(features[size] - want).max() / np.abs(want).max()
  assert error < 1e-4, error
  assert np.abs(want).max() > 0.1 and np.std(want) > 0.05  # random weights, features alive


def test_weights_round_trip_through_the_state_dict_layout(tmp_path):
  params = inception.random_params(1)
  state_dict = inception.to_state_dict(params)
  assert state_dict['Mixed_7c.branch_pool.conv.weight'].shape == (192, 2048, 1, 1)  # OIHW
  assert 'Mixed_5b.branch1x1.bn.running_var' in state_dict
  inception.save_weights(inception.from_state_dict(state_dict), tmp_path / 'w.npz')
  loaded = inception.load_weights(tmp_path / 'w.npz')
  assert jax.tree.structure(loaded) == jax.tree.structure(params)
  assert all(np.array_equal(a, b) for a, b in zip(jax.tree.leaves(loaded), jax.tree.leaves(params)))


def test_missing_weights_say_which_file_and_how_to_convert(tmp_path, monkeypatch):
  monkeypatch.delenv(inception.WEIGHTS_VARIABLE, raising=False)
  for path in (None, tmp_path / 'nowhere.npz'):
    with pytest.raises(inception.WeightsMissing, match=r'pt_inception-2015-12-05-6726825d\.pth .*'
                       r'python -m jaxgan\.evaluate\.inception'):
      inception.load_weights(path)


def test_classifier_logits_are_the_unbiased_fc_of_pool3():
  """The Inception Score's logits: pool3 features times pytorch-fid's `fc.weight` (1008 x 2048)
  transposed, without `fc.bias`, as torch-fidelity's `logits_unbiased`."""
  params = inception.random_params(2)
  state_dict = inception.to_state_dict(params)
  assert state_dict['fc.weight'].shape == (1008, 2048) and np.abs(state_dict['fc.bias']).max() > 0
  features = np.random.default_rng(0).random((3, 2048)).astype(np.float32)
  np.testing.assert_allclose(inception.classifier_logits(params, features),
                             features @ state_dict['fc.weight'].T, rtol=1e-5, atol=1e-5)
  with pytest.raises(ValueError, match='no classifier'):
    inception.classifier_logits({k: v for k, v in params.items() if k != 'fc'}, features)


