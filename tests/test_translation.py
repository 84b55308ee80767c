"""pix2pix's and CycleGAN's networks are the reference's: sizes and what they compute.

The fixture is recorded from junyanz/pytorch-CycleGAN-and-pix2pix's `models/networks.py` by
`tools/record_translation.py` (reduced sizes, every weight and statistic random).
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan.nets import translation
from jaxgan.nets.translation_weights import from_state_dict
from runs import jit_apply

FIXTURE = Path(__file__).parent / 'fixtures' / 'translation_reference.npz'
# The networks of the fixture, as record_translation.py builds them at the reference.
NETWORKS = {
    'unet': (translation.UNetGenerator(channels=1, num_downs=6, ngf=2, norm='batch'), 0),
    'resnet': (translation.ResnetGenerator(channels=3, blocks=2, ngf=4, norm='instance'), 0),
    'patch_batch': (translation.PatchDiscriminator(n_layers=2, ndf=4, norm='batch'), 3),
    'patch_instance': (translation.PatchDiscriminator(n_layers=3, ndf=4, norm='instance'), 0),
}
TOLERANCE = 1e-5  # of the output's largest magnitude; float32 on both sides


def _reference(name):
  recorded = np.load(FIXTURE)
  prefix = f'{name}/state/'
  state = {k[len(prefix):]: recorded[k] for k in recorded.files if k.startswith(prefix)}
  updated = {k[len(f'{name}/updated/'):]: recorded[k] for k in recorded.files
             if k.startswith(f'{name}/updated/')}
  outputs = {mode: recorded[f'{name}/{mode}'] for mode in ('train', 'eval')
             if f'{name}/{mode}' in recorded.files}
  return state, recorded[f'{name}/input'], outputs, updated


def _inputs(x, condition_channels):
  """The reference's discriminator input is cat(condition, image) on channels: split it."""
  if not condition_channels:
    return (jnp.asarray(x),), {}
  return (jnp.asarray(x[..., condition_channels:]),), {
      'condition': jnp.asarray(x[..., :condition_channels])}


def _close(got, want):
  np.testing.assert_allclose(np.asarray(got), want, rtol=0,
                             atol=TOLERANCE * float(np.abs(want).max()))


@pytest.mark.parametrize('name', list(NETWORKS))
def test_each_network_computes_the_references_on_its_weights(name):
  """Training mode (batch statistics, dropout off in both), the running statistics that pass
  leaves (momentum 0.1, unbiased variance), then eval mode (running statistics)."""
  net, condition_channels = NETWORKS[name]
  state, x, outputs, updated = _reference(name)
  args, kwargs = _inputs(x, condition_channels)
  # Only the structure is used (the reference's values replace it): traced, not run.
  variables = jax.eval_shape(lambda: net.init(jax.random.key(0), *args, train=False, **kwargs))
  variables = from_state_dict(net, state, variables)
  net = net.clone(**({'dropout': False} if hasattr(net, 'dropout') else {}))
  out, changed = jit_apply(net, train=True, update_stats=True, mutable=True)(variables, *args,
                                                                             **kwargs)
  want = outputs['train']
  _close(out, want[..., 0] if out.ndim == 3 else want)
  if updated:
    stats = from_state_dict(net, {**state, **updated}, variables)['batch_stats']
    jax.tree.map(lambda got, want: _close(got, np.asarray(want)), changed['batch_stats'], stats)
  if 'eval' in outputs:  # after that pass, on the statistics it updated, as in the reference
    out = jit_apply(net, train=False)({**variables, **changed}, *args, **kwargs)
    want = outputs['eval']
    _close(out, want[..., 0] if out.ndim == 3 else want)


def test_the_256_networks_have_the_references_sizes():
  """The reference's 256x256 networks, as its `print_networks` counts them."""
  image = (1, 256, 256, 3)
  condition = {'condition': jnp.zeros(image)}
  count = translation.parameter_count
  assert count(translation.UNetGenerator(num_downs=8, norm='batch'), image) == 54_413_955
  assert count(translation.PatchDiscriminator(norm='batch'), image, **condition) == 2_768_705
  assert count(translation.ResnetGenerator(blocks=9, norm='instance'), image) == 11_378_179
  assert count(translation.PatchDiscriminator(norm='instance'), image) == 2_764_737


def test_the_unet_drops_out_only_where_the_reference_does():
  """Dropout in training mode (two draws differ) and not without it; the reference's own
  levels are checked against it above, where its dropout is the identity."""
  net = translation.UNetGenerator(channels=1, num_downs=6, ngf=2)
  x = jax.random.normal(jax.random.key(1), (2, 64, 64, 1))
  variables = jax.jit(lambda key: net.init(key, x, train=False))(jax.random.key(0))

  def draws(net):  # two, with dropout keys 0 and 1
    apply = jax.jit(lambda seed: net.apply(variables, x, train=True,
                                           rngs={'dropout': jax.random.key(seed)}))
    return apply(0), apply(1)

  assert not np.allclose(*draws(net))
  np.testing.assert_array_equal(*draws(net.clone(dropout=False)))
