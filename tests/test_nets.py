import jax
import jax.numpy as jnp
import numpy as np
import pytest

from jaxgan import configs, families
from jaxgan.summary import param_count, summarize


def _params(module, *args, **kwargs):
  return jax.eval_shape(lambda: module.init(jax.random.key(0), *args, **kwargs))['params']


def test_dcgan64_matches_the_keras_example_models():
  config = configs.get('dcgan64')
  generator, discriminator = families.networks(config)
  g = _params(generator, jnp.zeros((1, 128)))
  d = _params(discriminator, jnp.zeros((1, 64, 64, 3)), train=False)
  # Keras summary() totals of the keras.io example's models.
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
  config = configs.get(name)
  if getattr(config, 'conditional', False):  # its classes come from the dataset when it trains
    config = config.replace(classes=tuple('0123456789'))
  generator, discriminator = families.networks(config)
  g_inputs, d_inputs = families.of(config).example_inputs(config)  # latents (and labels), or a source image
  rngs = {'params': jax.random.key(0), 'noise': jax.random.key(1),  # StyleGAN2 draws noise
          'dropout': jax.random.key(2)}  # pix2pix's generator drops out
  images = jax.eval_shape(lambda: generator.init_with_output(rngs, *g_inputs)[0])
  expected = (1, 2) if config.arch == 'mlp2d' else (1, config.image_size, config.image_size,
                                                    config.channels)
  assert images.shape == (1, *families.of(config).sample_shape(config)) == expected
  logits = jax.eval_shape(lambda: discriminator.init_with_output(
      jax.random.key(0), jnp.zeros(images.shape), *d_inputs[1:], train=False)[0])
  patches = config.arch in ('pix2pix', 'cyclegan')  # PatchGAN: a logit per patch
  assert logits.shape[0] == 1 and (logits.ndim == 3 if patches else logits.shape == (1,))


def test_summary_lists_layers_in_call_order_with_totals():
  generator, _ = families.networks(configs.get('dcgan64'))
  table = summarize(generator, jnp.zeros((1, 128)), title='generator')
  rows = [line.split()[0] for line in table.splitlines() if line[:1].isalpha()]
  assert rows[2:7] == ['Dense_0', 'PhaseConvTranspose_0', 'PhaseConvTranspose_1',
                       'PhaseConvTranspose_2', 'Conv_0']
  assert '(None, 64, 64, 3)' in table
  assert table.endswith('Total params: 3,979,651')


def test_projection_discriminator_adds_the_class_embedding_times_the_features():
  """D(x, y) = psi(phi(x)) + <embed(y), phi(x)> (Miyato & Koyama 2018): with embed(c) set to
  psi's kernel and every other class's row to zero, D(x, c) - b = 2 (D(x, other) - b), and
  D(x, other) is the unconditional critic's output."""
  from jaxgan.nets import dcgan
  conditional = dcgan.Discriminator(widths=(4, 8), dropout=0.0, num_classes=3)
  plain = dcgan.Discriminator(widths=(4, 8), dropout=0.0)
  x = jax.random.uniform(jax.random.key(0), (5, 8, 8, 1))
  params = conditional.init(jax.random.key(1), x, jnp.zeros((5,), jnp.int32), train=False)
  dense = params['params']['Dense_0']
  dense = {'kernel': dense['kernel'], 'bias': jnp.full((1,), 0.3)}
  table = jnp.zeros((3, dense['kernel'].shape[0])).at[2].set(dense['kernel'][:, 0])
  params = {'params': {**params['params'], 'Dense_0': dense, 'Embed_0': {'embedding': table}}}
  at = lambda c: conditional.apply(params, x, jnp.full((5,), c, jnp.int32), train=False)
  unconditional = plain.apply({'params': {k: v for k, v in params['params'].items()
                                          if k != 'Embed_0'}}, x, train=False)
  np.testing.assert_allclose(at(0), unconditional, rtol=1e-6)
  np.testing.assert_allclose(at(1), unconditional, rtol=1e-6)
  np.testing.assert_allclose(at(2) - 0.3, 2 * (unconditional - 0.3), rtol=1e-5, atol=1e-6)


def test_conditional_generator_draws_each_class_from_one_latent():
  from jaxgan.nets import dcgan
  generator = dcgan.Generator(channels=1, base=4, dense_features=8, widths=(8,), num_classes=10,
                              class_features=4)
  z = jnp.ones((2, 3))
  params = generator.init(jax.random.key(0), z, jnp.zeros((2,), jnp.int32))
  assert params['params']['Embed_0']['embedding'].shape == (10, 4)
  assert params['params']['Dense_0']['kernel'].shape == (3 + 4, 4 * 4 * 8)
  images = [generator.apply(params, z, jnp.full((2,), c, jnp.int32)) for c in (0, 7)]
  assert images[0].shape == (2, 8, 8, 1) and not np.allclose(images[0], images[1])
