"""R3GAN against the reference's own computation (brownvc/R3GAN): the relativistic pairing loss
and the R1 + R2 penalties as `R3GAN/Trainer.py` computes them, through the real step of the
adversarial game; the Dirac-GAN's equilibrium; the networks, the augmentation and the parameter
counts recorded from the reference (`tools/record_r3gan.py`); the schedules of its training loop;
the family's one-line refusals."""

import sys
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import ada, configs, families, losses, regularizers
from jaxgan.commands import train as train_command
from jaxgan.nets import r3gan
from jaxgan.regularizers import CriticView
from runs import assert_trees_close, dynamic_fields, main_in_process, start, step_of

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
  # the recorder's ARCH as the family builds it (the critic's stages reversed, the embeddings)
  config = configs.get('r3gan_cifar10').replace(
      image_size=16, latent_dim=8, widths=(16, 12, 8), cardinalities=(2, 4, 2), blocks=(1, 2, 1),
      bfloat16_stages=0, conditional=conditional, classes=('a', 'b', 'c') if conditional else ())
  generator, discriminator = families.networks(config)
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


@pytest.mark.parametrize('name', ['r3gan', 'cutout'])
def test_r3gan_augmentation_is_the_references(name):
  """R3GAN's `AugmentPipe` (its train.py's arguments: the colour transformations at half p,
  cutout) at p = 2, where each transformation's probability p times its multiplier reaches 1,
  and cutout alone at p = 1, every value fixed at a percentile, on RGB and grey images."""
  recorded = np.load(FIXTURE)
  spec, p = ('r3gan', 2.0) if name == 'r3gan' else (('cutout',), 1.0)
  for percentile in (0.8, 0.3):
    augment = jax.jit(ada.pipeline(spec, percentile=percentile))
    for kind in ('rgb', 'grey'):
      images = recorded[f'augment/{kind}']
      want = recorded[f'augment/{name}/{percentile}/{kind}']
      got = augment(jax.random.key(0), jnp.asarray(images), p)
      np.testing.assert_allclose(got, want, atol=1e-4, err_msg=f'{percentile} {kind}')
      assert np.abs(want - images).max() > 0.05


def test_a_multiplier_scales_the_probability_of_its_transformation():
  """At p = 1: x-flip at multiplier 0.5 flips (itself a coin) a quarter of the images,
  brightness at 0.5 shifts half of them."""
  images = jax.random.uniform(jax.random.key(0), (800, 8, 8, 1))
  for spec, share in (({'xflip': 0.5}, 0.25), ({'brightness': 0.5}, 0.5)):
    out = jax.jit(ada.pipeline(spec))(jax.random.key(3), images, 1.0)
    changed = np.abs(np.asarray(out - images)).reshape(800, -1).max(1) > 1e-3
    assert share - 0.05 < changed.mean() < share + 0.05, (spec, changed.mean())


def _reference_cosine(cur_nimg, base_value, total_nimg, final_value):
  """R3GAN's `training_loop.cosine_decay_with_warmup` without warm-up or hold, as written
  there."""
  decay = 0.5 * (1 + np.cos(np.pi * cur_nimg / float(total_nimg)))
  cur_value = base_value + (1 - decay) * (final_value - base_value)
  return float(np.where(cur_nimg > total_nimg, final_value, cur_value))


# The CIFAR10 preset with schedules 6 steps of 4 images long, so that 8 steps cross their end.
SCHEDULED = configs.get('r3gan_cifar10').replace(batch_size=4, decay_kimg=0.024,
                                                 classes=tuple('0123456789'))


def test_r3gan_schedules_are_the_references_on_the_images_seen():
  """Before step s the reference sets the learning rate, Adam's beta2, gamma, the EMA's
  half-life and the augmentation's p from cur_nimg = s x batch (train.py's CIFAR10 values);
  jaxgan's recipe uses the same numbers, and Adam's update with beta1 0 and the scheduled beta2
  is torch's Adam written out (bias correction with the current beta2)."""
  config, total = SCHEDULED, 24
  pieces = families.r3gan.recipe(config)
  at = lambda s, base, final: _reference_cosine(s * config.batch_size, base, total, final)
  # the learning rates and Adam on a parameter of 3 values, 8 updates
  param, grads = jnp.array([0.3, -1.0, 2.0]), [jnp.array([0.5, -2.0, 1.0]) * (i + 1) % 3 - 1
                                              for i in range(8)]
  state, value = pieces.optimizers['G'].init(param), param
  v, want = np.zeros(3), np.asarray(param, np.float64)
  for s, g in enumerate(grads):
    lr, b2 = at(s, 2e-4, 5e-5), at(s, 0.9, 0.99)
    np.testing.assert_allclose(pieces.learning_rates['G'](s), lr, rtol=1e-6)
    updates, state = pieces.optimizers['G'].update(g, state, value)
    value = optax.apply_updates(value, updates)
    g = np.asarray(g, np.float64)
    v = b2 * v + (1 - b2) * g ** 2
    want = want - lr * g / (np.sqrt(v / (1 - b2 ** (s + 1))) + 1e-8)
  np.testing.assert_allclose(value, want, rtol=1e-5)
  # gamma: R1 + R2 of a linear critic D(x) = w . x is gamma / 2 (|w|^2 + |w|^2)
  w = jnp.array([0.5, -1.0]).reshape(1, 2, 1, 1)  # one 2x1x1 "image" of weights
  critic = lambda x: jnp.sum(x * w, axis=(1, 2, 3))
  view = CriticView(critic, jnp.ones((3, 2, 1, 1)), jnp.zeros((3, 2, 1, 1)), {}, jnp.mean)
  for s in range(8):
    penalty, _ = pieces.d_regularizer.apply(pieces.d_regularizer.init(), view,
                                            jax.random.key(0), jnp.int32(s))
    np.testing.assert_allclose(penalty, at(s, 0.05, 0.005) / 2 * 2 * 1.25, rtol=1e-5)
    # the EMA: 0.5 ** (batch / max(half-life images, 1e-8)), the half-life 0 -> 5M images
    np.testing.assert_allclose(pieces.ema_decay(jnp.int32(s)),
                               0.5 ** (4 / max(at(s, 0, 5_000_000), 1e-8)), rtol=1e-5)
  # the augmentation's p before each step: 0 at the start, then the schedule to 0.55
  state = pieces.augment.init()
  for s in range(8):
    np.testing.assert_allclose(state['p'], at(s, 0.0, 0.55), atol=1e-7)
    state = pieces.augment.observe(state, None, jnp.int32(s))


def test_r3gan_cifar10_networks_have_the_references_parameter_counts():
  recorded = np.load(FIXTURE)['cifar10/parameters']
  config = configs.get('r3gan_cifar10').replace(classes=tuple('0123456789'))
  g_inputs, d_inputs = families.of(config).example_inputs(config)
  counts = [sum(leaf.size for leaf in jax.tree.leaves(jax.eval_shape(
      lambda: network.init(jax.random.key(0), *inputs))))
      for network, inputs in zip(families.networks(config), (g_inputs, d_inputs))]
  assert counts == list(recorded) == [20_781_952, 21_280_512]


def test_grouped_convolution_algorithms_agree_to_second_order():
  """The CPU's block-diagonal and tap-sum forms of a grouped convolution equal XLA's: the
  output, both gradients, and the gradient of the squared input-gradient norm (R1's and R2's
  double backpropagation) with respect to the weight."""
  x = jax.random.normal(jax.random.key(0), (3, 7, 6, 8))
  weight = jax.random.normal(jax.random.key(1), (12, 2, 3, 3)) / 4

  def penalty(weight, x, algorithm):
    gradient = jax.grad(lambda x: jnp.sum(jnp.tanh(r3gan.conv2d(x, weight, 4, 1, algorithm))))(x)
    return jnp.sum(gradient ** 2)

  outputs = {}
  for algorithm in ('xla', 'dense', 'taps'):
    conv = lambda weight, x: jnp.sum(jnp.sin(r3gan.conv2d(x, weight, 4, 1, algorithm)))
    outputs[algorithm] = (r3gan.conv2d(x, weight, 4, 1, algorithm),
                          *jax.grad(conv, (0, 1))(weight, x),
                          jax.grad(penalty)(weight, x, algorithm))
  for algorithm in ('dense', 'taps'):
    for got, want in zip(outputs[algorithm], outputs['xla']):
      np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5 * float(jnp.abs(want).max()))
  with pytest.raises(ValueError, match="unknown algorithm 'fft'"):
    r3gan.conv2d(x, weight, 4, 1, 'fft')


@pytest.mark.parametrize('flags, message', [
    (('--set', 'widths=64,64'), 'widths, cardinalities and blocks give one value per stage'),
    (('--set', 'image_size=64'), 'makes 32x32 images (a stage per doubling from 4x4), not 64'),
    (('--set', 'cardinalities=96,96,96,100'), 'cannot be split into 100 groups'),
    (('--set', 'bfloat16_stages=5'), 'bfloat16_stages 5: there are 4 stages'),
    (('--dtype', 'bfloat16'), 'use --set bfloat16_stages=N'),
    (('--set', 'optimizer=keras_adam'), 'r3gan trains with optimizer adam'),
    (('--set', 'b2_final=1'), 'b2_final must be in [0, 1)'),
    (('--set', 'augment_p=2'), 'augment_p must be in [0, 1]'),
    (('--set', 'pl_weight=2'), 'pl_weight'),
])
def test_r3gan_refuses_what_it_cannot_train_in_one_line(tmp_path, capsys, flags, message):
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--config',
                                 'r3gan_cifar10', *flags, main=train_command.main)
  assert code == 2 and err.count('\n') == 1 and message in err, err


# R3GAN at its smallest: two stages (8x8), the schedules 6 steps long, augmentation on.
TINY_R3GAN = configs.get('r3gan_cifar10').replace(
    image_size=8, channels=1, hflip=False, conditional=False, bfloat16_stages=0, widths=(8, 8),
    cardinalities=(2, 2), blocks=(1, 1), latent_dim=4, batch_size=8, decay_kimg=0.048,
    augment_p=0.5, ema_kimg=0.02, gamma=0.1, steps=6, log_every=2, checkpoint_every=3,
    sample_every=3)


@pytest.mark.parametrize('mode, count, conditional', [('shard_map', 4, False),
                                                      ('pmap', 2, True)])
def test_r3gan_on_n_devices_trains_the_one_device_run(mode, count, conditional):
  """Two steps on N devices equal one device's (the augmentation, drawn per device, off),
  the generator's own real batch and the pairs included; to 1e-4 of each leaf's scale, as the
  devices' gradients are summed in another order and Adam with beta1 0 divides each gradient
  by its own magnitude (1e-5 relative noise on a bias whose gradient is near zero)."""
  from jaxgan import parallel
  config = TINY_R3GAN.replace(augment_p=0.0, conditional=conditional,
                              classes=tuple('0123456789') if conditional else ())
  game = families.game(config)
  rows = config.batch_size * game.batches_per_step
  batches = [{'image': np.random.default_rng(i).integers(0, 256, (rows, 8, 8, 1), np.uint8),
              **({'label': np.arange(rows, dtype=np.int32) % 10} if conditional else {})}
             for i in range(2)]
  one, step = game.init(jax.random.key(0)), jax.jit(game.make_step())
  data_parallel = parallel.DataParallel(mode, parallel.select_devices(count))
  many = data_parallel.replicate(game.init(jax.random.key(0)))
  many_step = data_parallel.compile(game.make_step(axis_name=parallel.AXIS))
  for batch in batches:
    one, _ = step(one, batch)
    many, _ = many_step(many, data_parallel.shard_batch(batch))
  assert_trees_close(_without_the_critics_last_bias(dynamic_fields(data_parallel.local(many))),
                     _without_the_critics_last_bias(dynamic_fields(one)), rtol=1e-4)


@pytest.mark.slow
def test_r3gan_trains_and_resumes_exactly(tmp_path):
  """Through the loop with every scheduled piece moving (learning rate, beta2, gamma, the EMA's
  half-life, the augmentation's p): stopped at step 3 and resumed, it ends bit for bit where one
  run of 6 steps ends; the samples and the digits check are written."""
  from runs import resumes_exactly
  whole = resumes_exactly(TINY_R3GAN.replace(dataset='digits'), tmp_path, stop=3)
  assert int(whole.step) == 6
  assert (tmp_path / 'whole' / 'digits_check.json').exists()
  assert any((tmp_path / 'whole' / 'samples').iterdir())
