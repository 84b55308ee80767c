"""The jitted step is pure, deterministic, and computes exactly the keras.io example's
train_step."""

import jax
import jax.numpy as jnp
import numpy as np
import optax

from jaxgan import configs, families
from jaxgan.optim import keras_adam
from runs import start, step_of

# A small member of the keras.io example's family; no dropout, so the reference below needs no
# Flax RNG.
CONFIG = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), d_widths=(8,),
                                       g_dense_features=8, latent_dim=4, d_dropout=0.0,
                                       batch_size=6, ema_decay=0.0, g_lr=1e-3, d_lr=2e-3,
                                       adam_b1=0.9, adam_b2=0.999)


def _images(seed, n=6):
  return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 1), dtype=np.uint8)


def _train(config, steps):
  state = start(config)
  step = jax.jit(step_of(config), donate_argnums=0)
  for i in range(steps):
    state, metrics = step(state, {'image': _images(i)})
  return state, metrics


def test_same_seed_gives_bitwise_identical_parameters():
  first, metrics = _train(CONFIG, 4)
  second, _ = _train(CONFIG, 4)
  other_seed, _ = _train(CONFIG.replace(seed=1), 4)
  for a, b in zip(jax.tree.leaves(first.variables('G')), jax.tree.leaves(second.variables('G'))):
    np.testing.assert_array_equal(a, b)
  for a, b in zip(jax.tree.leaves(first.variables('D')), jax.tree.leaves(second.variables('D'))):
    np.testing.assert_array_equal(a, b)
  assert not np.array_equal(first.params['G']['Dense_0']['kernel'],
                            other_seed.params['G']['Dense_0']['kernel'])
  assert int(first.step) == 4
  assert set(metrics) == {'d/loss', 'g/loss', 'd/real_logit', 'd/fake_logit', 'd/real_accuracy',
                          'd/fake_accuracy', 'grad_norm/G', 'grad_norm/D'}


def _keras_bce(labels, probabilities):
  """keras.losses.BinaryCrossentropy on probabilities (it clips them to [1e-7, 1 - 1e-7])."""
  p = jnp.clip(probabilities, 1e-7, 1 - 1e-7)
  return -jnp.mean(labels * jnp.log(p) + (1 - labels) * jnp.log(1 - p))


def _keras_adam(params, grads, m, v, t, lr, b1=0.9, b2=0.999, eps=1e-7):
  m = jax.tree.map(lambda m, g: m + (g - m) * (1 - b1), m, grads)
  v = jax.tree.map(lambda v, g: v + (g * g - v) * (1 - b2), v, grads)
  # Keras computes the bias corrections in float32, as jaxgan does.
  b1, b2 = np.float32(b1), np.float32(b2)
  alpha = lr * jnp.sqrt(1 - b2 ** t) / (1 - b1 ** t)
  params = jax.tree.map(lambda p, m, v: p - m * alpha / (jnp.sqrt(v) + eps), params, m, v)
  return params, m, v


def test_step_equals_the_keras_example_train_step_written_out():
  """The keras.io train_step line by line: generated=1, real=0, 0.05*U noise, D then G."""
  generator, discriminator = families.networks(CONFIG)
  state = start(CONFIG)  # the networks' variables are their parameters alone
  step = jax.jit(step_of(CONFIG))
  n, latent = CONFIG.batch_size, CONFIG.latent_dim

  @jax.jit
  def keras_train_step(key, t, images, g, d, g_m, g_v, d_m, d_v):
    # The documented derivation: fold_in(key, step) -> (critic, generator); critic update 0 uses
    # fold_in(k_d, 0); each splits into (latents, dropout, loss, augment, regularizer).
    k_d, k_g = jax.random.split(jax.random.fold_in(key, t - 1))
    k_z_d, _, k_noise, _, _ = jax.random.split(jax.random.fold_in(k_d, 0), 5)
    k_z_g = jax.random.split(k_g, 5)[0]
    real_images = images / 255.0
    generated_images = generator.apply(g, jax.random.normal(k_z_d, (n, latent)))
    combined_images = jnp.concatenate([generated_images, real_images])
    labels = jnp.concatenate([jnp.ones(n), jnp.zeros(n)])
    labels += 0.05 * jax.random.uniform(k_noise, labels.shape)

    def d_loss(d):
      predictions = jax.nn.sigmoid(discriminator.apply(d, combined_images, train=True))
      return _keras_bce(labels, predictions)

    d_loss_value, d_grads = jax.value_and_grad(d_loss)(d)
    d, d_m, d_v = _keras_adam(d, d_grads, d_m, d_v, t, CONFIG.d_lr)
    random_latent_vectors = jax.random.normal(k_z_g, (n, latent))

    def g_loss(g):
      predictions = jax.nn.sigmoid(
          discriminator.apply(d, generator.apply(g, random_latent_vectors), train=True))
      return _keras_bce(jnp.zeros(n), predictions)

    g_loss_value, g_grads = jax.value_and_grad(g_loss)(g)
    g, g_m, g_v = _keras_adam(g, g_grads, g_m, g_v, t, CONFIG.g_lr)
    return d_loss_value, g_loss_value, g, d, g_m, g_v, d_m, d_v

  g, d = state.variables('G'), state.variables('D')
  g_m = g_v = jax.tree.map(jnp.zeros_like, g)
  d_m = d_v = jax.tree.map(jnp.zeros_like, d)
  for t in range(1, 4):
    images = _images(t)
    d_loss_value, g_loss_value, g, d, g_m, g_v, d_m, d_v = keras_train_step(
        state.key, t, images, g, d, g_m, g_v, d_m, d_v)
    state, metrics = step(state, {'image': images})
    np.testing.assert_allclose(metrics['d/loss'], d_loss_value, rtol=1e-5)
    np.testing.assert_allclose(metrics['g/loss'], g_loss_value, rtol=1e-5)
    for got, want in zip(jax.tree.leaves((state.variables('G'), state.variables('D'))),
                         jax.tree.leaves((g, d))):
      np.testing.assert_allclose(got, want, rtol=2e-5, atol=2e-6)


def test_keras_adam_differs_from_optax_adam_only_by_epsilon_schedule():
  grads = {'w': jnp.array([1e-6, -3e-6, 0.5])}
  params = {'w': jnp.zeros(3)}
  keras = keras_adam(1e-3)
  optax_adam = optax.adam(1e-3, eps=1e-7)
  keras_updates, _ = keras.update(grads, keras.init(params))
  optax_updates, _ = optax_adam.update(grads, optax_adam.init(params))
  # Same for large gradients; Keras' effective epsilon 1e-7/sqrt(1 - 0.999) shrinks tiny ones.
  np.testing.assert_allclose(keras_updates['w'][2], optax_updates['w'][2], rtol=1e-5)
  assert abs(keras_updates['w'][0]) < 0.5 * abs(optax_updates['w'][0])
  m = v = {'w': jnp.zeros(3)}
  expected, _, _ = _keras_adam(params, grads, m, v, 1, 1e-3)
  np.testing.assert_allclose(keras_updates['w'], expected['w'], rtol=1e-6)


def test_bfloat16_step_trains_float32_parameters_with_bfloat16_compute():
  config = CONFIG.replace(dtype='bfloat16')
  generator, _ = families.networks(config)
  initial = start(config)
  state, metrics = _train(config, 3)
  assert all(np.isfinite(float(value)) for value in metrics.values())
  trees = (state.params, state.opt_state)
  floats = {leaf.dtype for leaf in jax.tree.leaves(trees)
            if jnp.issubdtype(leaf.dtype, jnp.floating)}
  assert floats == {jnp.dtype('float32')}
  z = jax.random.normal(jax.random.key(9), (4, config.latent_dim))
  before = generator.apply(initial.variables('G'), z)
  after = generator.apply(state.variables('G'), z)
  assert np.abs(after - before).max() > 1e-3  # the samples changed
  # The same parameters through float32 compute give nearly, not exactly, the same images.
  float32_images = families.networks(CONFIG)[0].apply(state.variables('G'), z)
  assert 0 < np.abs(after - float32_images).max() < 0.05
