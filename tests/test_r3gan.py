"""R3GAN's pieces against the reference's own computation (brownvc/R3GAN): the relativistic
pairing loss and the R1 + R2 penalties as `R3GAN/Trainer.py` computes them, through the real
step of the adversarial game."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import configs, families, losses, regularizers
from jaxgan.nets import r3gan
from jaxgan.regularizers import CriticView
from runs import assert_trees_close, dynamic_fields, start, step_of

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / 'benchmarks'))
import dirac_gan  # noqa: E402

TINY = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), d_widths=(8,),
                                     g_dense_features=8, latent_dim=4, d_dropout=0.0,
                                     batch_size=6, ema_decay=0.0)
PAIRS = TINY.replace(loss='relativistic', r1_gamma=0.7, r2_gamma=0.7, optimizer='adam',
                     adam_b1=0.0, adam_b2=0.99)


def _softplus(x):
  return np.logaddexp(0.0, x)


def test_relativistic_loss_is_the_reference_softplus_of_the_pairs():
  """`AdversarialLoss = softplus(-RelativisticLogits)`, RelativisticLogits = real - fake for
  the critic and fake - real for the generator, averaged over the pairs."""
  rng = np.random.default_rng(0)
  real, fake = rng.normal(size=7) * 3, rng.normal(size=7) * 3
  loss = losses.relativistic()
  np.testing.assert_allclose(loss.discriminator(real, fake, None),
                             _softplus(-(real - fake)).mean(), rtol=1e-6)
  np.testing.assert_allclose(loss.generator(fake, None, real), _softplus(-(fake - real)).mean(),
                             rtol=1e-6)
  measures = losses.equilibrium(loss, jnp.asarray(real), jnp.asarray(fake))
  np.testing.assert_allclose(measures['d/pair_accuracy'], np.mean(real - fake > 0))
  assert 'd/real_accuracy' not in measures  # a score of pairs has no boundary of one sample


def _zero_centred_penalty(critic, samples):
  """The reference's ZeroCenteredGradientPenalty: the gradient of the critics' sum with respect
  to the samples, squared and summed over each sample's pixels."""
  gradient = jax.grad(lambda x: critic(x).sum())(samples)
  return jnp.square(gradient).sum(axis=(1, 2, 3))


def test_r1_and_r2_are_gamma_half_of_the_reference_penalties_on_their_own_samples():
  _, discriminator = families.networks(TINY)
  real = jax.random.uniform(jax.random.key(2), (5, 8, 8, 1))
  fake = jax.random.uniform(jax.random.key(3), (5, 8, 8, 1))
  variables = discriminator.init(jax.random.key(1), real, train=False)
  critic = lambda x: discriminator.apply(variables, x, train=True)
  view = CriticView(critic, real, fake, {}, jnp.mean)
  key, step = jax.random.key(4), jnp.int32(0)
  for penalty, samples in ((regularizers.r1(0.3), real), (regularizers.r2(0.3), fake)):
    value, _ = penalty.apply(penalty.init(), view, key, step)
    np.testing.assert_allclose(value, 0.3 / 2 * _zero_centred_penalty(critic, samples).mean(),
                               rtol=1e-5)
  assert not np.allclose(*(regularizers.zero_centred(0.3, on).apply((), view, key, step)[0]
                           for on in ('real', 'fake')))


def _step_written_out(state, batch, generator, discriminator, optimizers, config):
  """One step of R3GAN's `training_loop.py` with `Trainer.py`'s objective, by hand: the critic's
  phase on the first real batch of each pair of rows (row 2i: the critic's i-th, row 2i + 1 the
  generator's), `softplus(-(D(real) - D(fake)))` + gamma/2 (R1 + R2) at the samples the critic
  sees; then the generator's phase on fresh latents, `softplus(-(D(fake) - D(real)))` with the
  updated critic and the second real batch. jaxgan's keys: each update's split into z, dropout,
  loss, augmentation and penalty keys."""
  n, latent = config.batch_size, config.latent_dim
  G = lambda params, z: generator.apply({'params': params}, z)
  D = lambda params, x: discriminator.apply({'params': params}, x, train=True)
  k_d, k_g = jax.random.split(jax.random.fold_in(state.key, state.step))
  real = (batch['image'] / 255.0).reshape(n, 2, *batch['image'].shape[1:])
  k_z = jax.random.split(jax.random.fold_in(k_d, 0), 5)[0]
  fake = G(state.params['G'], jax.random.normal(k_z, (n, latent)))

  def d_loss(d):
    real_logits, fake_logits = D(d, real[:, 0]), D(d, fake)
    r1 = _zero_centred_penalty(lambda x: D(d, x), real[:, 0])
    r2 = _zero_centred_penalty(lambda x: D(d, x), fake)
    gamma = config.r1_gamma
    return jnp.mean(jax.nn.softplus(-(real_logits - fake_logits)) + gamma / 2 * (r1 + r2))

  d_grads = jax.grad(d_loss)(state.params['D'])
  updates, d_opt_state = optimizers['D'].update(d_grads, state.opt_state['D'], state.params['D'])
  d = optax.apply_updates(state.params['D'], updates)
  z = jax.random.normal(jax.random.split(k_g, 5)[0], (n, latent))
  g_loss = lambda g: jnp.mean(jax.nn.softplus(-(D(d, G(g, z)) - D(d, real[:, 1]))))
  g_grads = jax.grad(g_loss)(state.params['G'])
  updates, g_opt_state = optimizers['G'].update(g_grads, state.opt_state['G'], state.params['G'])
  g = optax.apply_updates(state.params['G'], updates)
  return state.replace(step=state.step + 1, params={'G': g, 'D': d},
                       opt_state={'G': g_opt_state, 'D': d_opt_state})


def test_the_step_of_pairs_is_the_reference_objective_written_out():
  """The relativistic loss with R1 + R2 through the game's real step, against `Trainer.py`'s
  objective by hand, two steps: each network's update, the critic on a real batch and the
  generator on another (as the reference's loop draws one per phase)."""
  generator, discriminator = families.networks(PAIRS)
  game = families.game(PAIRS)
  assert game.batches_per_step == 2
  state = want = start(PAIRS)
  step = jax.jit(step_of(PAIRS))
  by_hand = jax.jit(lambda state, batch: _step_written_out(state, batch, generator, discriminator,
                                                           game.optimizers, PAIRS))
  for i in range(2):
    images = np.random.default_rng(i).integers(0, 256, (2 * PAIRS.batch_size, 8, 8, 1), np.uint8)
    state, metrics = step(state, {'image': images})
    want = by_hand(want, {'image': images})
  assert float(metrics['d/penalty']) > 0 and 0 <= float(metrics['d/pair_accuracy']) <= 1
  assert_trees_close(_without_the_critics_last_bias(dynamic_fields(state)),
                     _without_the_critics_last_bias(dynamic_fields(want)), rtol=1e-4)


def _without_the_critics_last_bias(tree):
  """`tree` with the critic's output bias (and its moments) zeroed: a relativistic objective
  does not see it (D + c gives the same losses and penalties), so its gradient is rounding noise
  on both sides, which Adam's normalisation blows up."""
  def zeroed(path, leaf):
    name = jax.tree_util.keystr(path)
    return jnp.zeros_like(leaf) if "['D']" in name and "['Dense_0']['bias']" in name else leaf
  return jax.tree.map_with_path(zeroed, tree)


@pytest.mark.parametrize('arch', ['pix2pix', 'cyclegan'])
def test_a_game_without_pairs_refuses_a_loss_of_pairs(arch):
  with pytest.raises(ValueError, match='relativistic judges pairs'):
    configs.get(arch).replace(loss='relativistic')


def test_dirac_gan_converges_with_the_zero_centred_penalties_and_circles_without():
  """Mescheder et al. 2018's Dirac-GAN through the real adversarial step
  (`benchmarks/dirac_gan.py`): the regularized games reach the equilibrium (0, 0) to 1e-5
  within 1,000 steps (linear convergence); without a penalty, the non-saturating loss is still
  more than 0.2 away and WGAN's circles at its starting distance (within 10%) at every one of
  the last 200 steps."""
  distances = {name: np.linalg.norm(dirac_gan.trajectory(name, 1000), axis=1)
               for name in dirac_gan.GAMES}
  start = distances['wasserstein'][0]
  assert distances['non-saturating + R1'][-1] < 1e-5
  assert distances['relativistic + R1 + R2'][-1] < 1e-5
  assert distances['non-saturating'][-200:].min() > 0.2
  np.testing.assert_allclose(distances['wasserstein'][-200:], start, rtol=0.1)


FIXTURE = Path(__file__).resolve().parent / 'fixtures' / 'r3gan_reference.npz'


def _reference(conditional: bool):
  """The recording's networks (`tools/record_r3gan.py`) as jaxgan's, with its weights."""
  recorded = np.load(FIXTURE)
  prefix = 'conditional/' if conditional else ''
  classes = 3 if conditional else 0
  generator = r3gan.Generator((16, 12, 8), (2, 4, 2), (1, 2, 1), num_classes=classes,
                              embedding=8 if conditional else 0)
  discriminator = r3gan.Discriminator((8, 12, 16), (2, 4, 2), (1, 2, 1), num_classes=classes,
                                      embedding=16 if conditional else 0)
  weights = {name: r3gan.params_from_state_dict(
      {key[len(prefix) + 2:]: recorded[key] for key in recorded.files
       if key.startswith(f'{prefix}{name}/')}) for name in 'GD'}
  return recorded, prefix, generator, discriminator, weights


@pytest.mark.parametrize('conditional', [False, True])
def test_r3gan_networks_are_the_reference_on_its_weights(conditional):
  """Images, logits and every gradient of the reference's networks (`R3GAN/Networks.py`, every
  parameter random, the fix-up's zeros included) on the same weights: the layout of each
  parameter is the state dict's, its name the state dict's."""
  recorded, prefix, generator, discriminator, weights = _reference(conditional)
  np.testing.assert_allclose(recorded[f'{prefix}G/MainLayers.1.Layers.0.Resampler.Kernel'],
                             r3gan.setup_filter(r3gan.lowpass_taps()), rtol=1e-6)
  labels = (jnp.asarray(recorded['labels']),) if conditional else ()
  z, images = jnp.asarray(recorded['z']), jnp.asarray(recorded['images'])
  for network, inputs, name in ((generator, z, 'G'), (discriminator, images, 'D')):
    initialised = network.init(jax.random.key(0), inputs, *labels)['params']
    assert (jax.tree.map(jnp.shape, initialised) == jax.tree.map(jnp.shape, weights[name])), name

  def logits(g, d, images):
    fake = generator.apply({'params': g}, z, *labels)
    fake_logits = discriminator.apply({'params': d}, fake, *labels)
    given_logits = discriminator.apply({'params': d}, images, *labels)
    return fake_logits.sum() + given_logits.sum(), (fake, fake_logits, given_logits)

  grads, (fake, fake_logits, given_logits) = jax.jit(jax.grad(logits, argnums=(0, 1, 2),
                                                              has_aux=True))(
      weights['G'], weights['D'], images)
  np.testing.assert_allclose(fake, recorded[f'{prefix}fake'], rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(fake_logits, recorded[f'{prefix}fake_logits'], rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(given_logits, recorded[f'{prefix}given_logits'], rtol=1e-4,
                             atol=1e-4)
  want = {name: r3gan.params_from_state_dict(
      {key[len(prefix) + 7:]: recorded[key] for key in recorded.files
       if key.startswith(f'{prefix}grad/{name}/')}) for name in 'GD'}
  assert_trees_close(grads[0], want['G'], rtol=1e-4)
  assert_trees_close(grads[1], want['D'], rtol=1e-4)
  assert_trees_close(grads[2], recorded[f'{prefix}grad/images'], rtol=1e-4)


def test_r3gan_initialisation_is_the_reference_fix_up():
  """`MSRInitializer` at the reference's gains, written out: in each residual block the widening
  and grouped convolutions N(0, g / sqrt(fan_in)) with g = sqrt(2 / (1 + 0.2^2)) * L^(-1/4) for
  L blocks in all, the last convolution zero, the biases zero; the generator's basis N(0, 1)."""
  generator = r3gan.Generator((64, 64), (4, 4), (2, 1), channels=1)
  params = generator.init(jax.random.key(0), jnp.zeros((1, 32)))['params']
  gain = np.sqrt(2 / (1 + 0.2 ** 2)) * 3 ** -0.25
  block = params['MainLayers_0']['Layers_1']
  for layer, fan_in in (('LinearLayer1', 64), ('LinearLayer2', 128 // 4 * 9)):
    np.testing.assert_allclose(np.std(block[layer]['Layer']['weight']), gain / np.sqrt(fan_in),
                               rtol=0.05, err_msg=layer)
  assert not np.any(block['LinearLayer3']['Layer']['weight'])
  assert not np.any(block['NonLinearity1']['Bias'])
  np.testing.assert_allclose(np.std(params['MainLayers_0']['Layers_0']['Basis']), 1.0, rtol=0.1)
  np.testing.assert_allclose(np.std(params['AggregationLayer']['Layer']['weight']),
                             1 / np.sqrt(64), rtol=0.15)
  # The conditional critic's label embedding: gain 1 / sqrt(embedding), fan-in the classes.
  discriminator = r3gan.Discriminator((8, 8), (2, 2), (1, 1), num_classes=100, embedding=64)
  embedding = discriminator.init(jax.random.key(1), jnp.zeros((1, 8, 8, 3)),
                                 jnp.zeros((1,), jnp.int32))['params']['EmbeddingLayer']['weight']
  np.testing.assert_allclose(np.std(embedding), 1 / np.sqrt(64) / np.sqrt(100), rtol=0.05)
