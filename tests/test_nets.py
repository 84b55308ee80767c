import jax.numpy as jnp
import pytest

from jaxgan import configs, nets
from jaxgan.summary import param_count, summarize


def _params(module, *args, **kwargs):
  import jax
  return jax.eval_shape(lambda: module.init(jax.random.key(0), *args, **kwargs))['params']


def test_dcgan64_matches_the_seed_keras_models():
  config = configs.get('dcgan64')
  generator, discriminator = nets.build(config)
  g = _params(generator, jnp.zeros((1, 128)))
  d = _params(discriminator, jnp.zeros((1, 64, 64, 3)), train=False)
  # Keras summary() totals of the seed's models.
  assert param_count(g) == 3_979_651
  assert param_count(d) == 404_801
  # Layer by layer: Dense 128->8192, three 4x4 transposed convs, the 5x5 output conv.
  assert [param_count(g[name]) for name in ('Dense_0', 'PhaseConvTranspose_0',
                                            'PhaseConvTranspose_1', 'PhaseConvTranspose_2',
                                            'Conv_0')] == [1_056_768, 262_272, 524_544,
                                                           2_097_664, 38_403]
  assert [param_count(d[name]) for name in ('Conv_0', 'Conv_1', 'Conv_2', 'Dense_0')] == [
      3_136, 131_200, 262_272, 8_193]


@pytest.mark.parametrize('name', list(configs.PRESETS))
def test_presets_produce_their_sample_shape(name):
  import jax
  config = configs.get(name)
  generator, discriminator = nets.build(config)
  latents = jnp.zeros((2, config.latent_dim))
  images = jax.eval_shape(lambda: generator.init_with_output(jax.random.key(0), latents)[0])
  expected = (2, 2) if config.arch == 'mlp2d' else (2, config.image_size, config.image_size,
                                                    config.channels)
  assert images.shape == (2, *nets.sample_shape(config)) == expected
  logits = jax.eval_shape(lambda: discriminator.init_with_output(
      jax.random.key(0), jnp.zeros(images.shape), train=False)[0])
  assert logits.shape == (2,)


def test_summary_lists_layers_in_call_order_with_totals():
  generator, _ = nets.build(configs.get('dcgan64'))
  table = summarize(generator, jnp.zeros((1, 128)), title='generator')
  rows = [line.split()[0] for line in table.splitlines() if line[:1].isalpha()]
  assert rows[2:7] == ['Dense_0', 'PhaseConvTranspose_0', 'PhaseConvTranspose_1',
                       'PhaseConvTranspose_2', 'Conv_0']
  assert '(None, 64, 64, 3)' in table
  assert table.endswith('Total params: 3,979,651')
