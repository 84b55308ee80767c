"""Each preset's recipe is its reference's: the constants and formulas the presets' docstrings
attribute to a reference, computed by the pieces the preset itself builds (`games.recipe` and
its family's `game` of the preset, at its own settings), against the reference's computation written
out here with the reference's constants typed in from its files. Never jaxgan on both sides:
a preset that drifts from its reference, or a piece that computes it differently, fails here.

References, read from their code:
  stylegan2-ada-pytorch   `train.py` (cfg_specs, the cifar and auto specs, `--aug ada`),
                          `training/training_loop.py` (lazy regularization's Adam correction,
                          G_reg_interval 4 and D_reg_interval 16, G_ema, the ADA heuristic),
                          `training/loss.py` (`StyleGAN2Loss`: R1, path length, style mixing)
  progressive_growing_of_gans   `loss.py` (`D_wgangp_acgan`, `G_wgan`), `config.py` (Adam)
  wgan-gp (Gulrajani et al. 2017, Algorithm 1: lambda 10, n_critic 5, Adam 1e-4, (0, 0.9))
  pytorch-CycleGAN-and-pix2pix  `models/cycle_gan_model.py`, `options/train_options.py`
  the keras.io DCGAN example (`train_step`: generated = 1, real = 0, 0.05 * U(0, 1) added)
"""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from jaxgan import augment, configs, families, games, regularizers
from jaxgan.games import adversarial
from runs import start, step_of

# stylegan2-ada-pytorch's constants, per preset: (learning rate, betas, eps, R1 gamma, the
# generator's and the discriminator's regularization intervals, batch, ema_kimg, ema_rampup,
# ada_kimg). `stylegan2` is the reference's 'auto' spec at batch 32 with the three departures its
# docstring states (gamma 0.1, rate 0.002, ADA 50 times faster); `stylegan2_cifar` is 'cifar'.
STYLEGAN2 = {
    'stylegan2': dict(lr=0.002, betas=(0.0, 0.99), eps=1e-8, gamma=0.1, g_interval=4,
                      d_interval=16, batch=32, ema_kimg=10, ema_rampup=0.05, ada_kimg=10),
    'stylegan2_cifar': dict(lr=0.0025, betas=(0.0, 0.99), eps=1e-8, gamma=0.01, g_interval=4,
                            d_interval=16, batch=64, ema_kimg=500, ema_rampup=0.05,
                            ada_kimg=500),
}


def _torch_adam_updates(grads_sequence, lr, betas, eps):
  """torch.optim.Adam's steps (`_single_tensor_adam`, no weight decay, no amsgrad) written out
  in float64: the change of the parameters at each gradient of `grads_sequence`."""
  b1, b2 = betas
  m = v = 0.0
  updates = []
  for step, grad in enumerate(grads_sequence, start=1):
    m = m + (grad - m) * (1 - b1)
    v = v * b2 + (1 - b2) * grad * grad
    step_size = lr / (1 - b1 ** step)
    updates.append(-step_size * m / (np.sqrt(v) / np.sqrt(1 - b2 ** step) + eps))
  return updates


def _assert_optimizer_is_adam(optimizer, lr, betas, eps):
  """Eight steps of `optimizer` equal torch's Adam at `lr`, `betas`, `eps`: gradients of varying
  scale (the moments' decay shows) and, beside them, gradients near eps (eps shows)."""
  rng = np.random.default_rng(0)
  scales = np.array([1.0, 0.5, 2.0, 1.0, 0.1, 1.0, 3.0, 0.3])[:, None]
  grads = np.concatenate([rng.standard_normal((8, 6)) * scales,
                          rng.standard_normal((8, 4)) * 1e-8], axis=1)
  params = jnp.zeros(10)
  state = optimizer.init(params)
  want = _torch_adam_updates(grads, lr, betas, eps)
  for step, (grad, expected) in enumerate(zip(grads, want)):
    update, state = optimizer.update(jnp.asarray(grad, jnp.float32), state, params)
    np.testing.assert_allclose(update, expected, rtol=2e-5, err_msg=f'step {step}')


@pytest.mark.parametrize('preset', sorted(STYLEGAN2))
def test_stylegan2_adam_is_corrected_for_the_regularization_steps(preset):
  """training_loop.py: with lazy regularization, each network's Adam runs at lr * r and betas
  ** r, r = interval / (interval + 1), for G (interval 4, even where its path length is off:
  cifar) and D (16)."""
  ref = STYLEGAN2[preset]
  optimizers = games.recipe(configs.get(preset)).optimizers
  for name, interval in (('G', ref['g_interval']), ('D', ref['d_interval'])):
    ratio = interval / (interval + 1)
    _assert_optimizer_is_adam(optimizers[name], ref['lr'] * ratio,
                              tuple(beta ** ratio for beta in ref['betas']), ref['eps'])


@pytest.mark.parametrize('preset', sorted(STYLEGAN2))
def test_stylegan2_r1_is_the_references(preset):
  """StyleGAN2Loss's Dr1: gamma / 2 * |d sum(D(real)) / d real|^2 summed over each image's
  pixels, averaged over the batch, times the phase's gain (the interval, 16), on every 16th
  step only."""
  ref = STYLEGAN2[preset]
  regularizer = games.recipe(configs.get(preset)).d_regularizer
  weights = jax.random.normal(jax.random.key(0), (4, 4, 3))
  critic = lambda images: jnp.sum(jnp.sin(images * weights), axis=(1, 2, 3))
  real = jax.random.normal(jax.random.key(1), (6, 4, 4, 3))
  view = regularizers.CriticView(critic, real, real + 1, {}, jnp.mean)
  grads = jax.grad(lambda x: critic(x).sum())(real)
  want = ref['d_interval'] * jnp.mean(jnp.sum(grads ** 2, axis=(1, 2, 3)) * ref['gamma'] / 2)
  for step in range(ref['d_interval'] + 1):
    penalty, _ = regularizer.apply(regularizer.init(), view, jax.random.key(2), step)
    due = step % ref['d_interval'] == 0
    np.testing.assert_allclose(penalty, want if due else 0.0, rtol=1e-5, err_msg=f'step {step}')


def test_stylegan2_path_length_is_the_references():
  """StyleGAN2Loss's Gpl at the preset's settings: on the first batch // 2 (pl_batch_shrink 2)
  samples, y ~ N(0, I) / sqrt(h * w), lengths sqrt(mean over ws of sum over w of (J^T y)^2),
  pl_mean lerped toward their mean by 0.01, penalty 2 * (length - pl_mean)^2 averaged, times the
  gain 4 (G_reg_interval), on every 4th step only, the mean kept otherwise."""
  regularizer = games.recipe(configs.get('stylegan2')).g_regularizer
  kernel = jax.random.normal(jax.random.key(0), (3 * 5, 4 * 4 * 2))
  generate = lambda ws: jnp.tanh(ws.reshape(ws.shape[0], -1) @ kernel).reshape(-1, 4, 4, 2)
  ws = jax.random.normal(jax.random.key(1), (8, 3, 5))  # 8 samples, 3 ws of 5 features
  view = regularizers.GeneratorView(generate, ws, generate(ws), {}, jnp.mean)
  key, pl_mean = jax.random.key(2), jnp.float32(0.4)
  shrunk = ws[:8 // 2]
  pl_noise = jax.random.normal(key, (4, 4, 4, 2)) / np.sqrt(4 * 4)  # the view's key, its draw
  pl_grads = jax.grad(lambda w: jnp.sum(generate(w) * pl_noise))(shrunk)
  pl_lengths = jnp.sqrt(jnp.mean(jnp.sum(pl_grads ** 2, axis=2), axis=1))
  want_mean = pl_mean + (pl_lengths.mean() - pl_mean) * 0.01
  want_penalty = 4 * jnp.mean((pl_lengths - want_mean) ** 2 * 2)
  for step in range(5):
    penalty, new_mean = regularizer.apply(pl_mean, view, key, step)
    due = step % 4 == 0
    np.testing.assert_allclose(new_mean, want_mean if due else pl_mean, rtol=1e-6)
    np.testing.assert_allclose(penalty, want_penalty if due else 0.0, rtol=1e-5)


def _mixing_cutoffs(preset, draws):
  """The layer from which each of `draws` training passes of the preset's generator mixed in a
  second latent's ws (num_ws: none), and whether all its samples mixed from that layer."""
  config = configs.get(preset).replace(latent_dim=8, w_dim=8, channel_base=64, channel_max=8)
  generator, _ = families.networks(config)
  z = jax.random.normal(jax.random.key(0), (3, 8))
  variables = generator.init({'params': jax.random.key(1), 'noise': jax.random.key(2)}, z)
  plain = generator.apply(variables, z, method='map')  # sampling: never mixed

  @jax.jit
  @jax.vmap
  def mixed_layers(key):
    ws, _ = generator.apply(variables, z, method='map', mutable=['buffers'],
                            rngs={'noise': key})
    return jnp.abs(ws - plain).max(axis=2) > 1e-3  # (samples, num_ws); jit rounds apart

  layers = np.asarray(mixed_layers(jax.random.split(jax.random.key(3), draws)))
  num_ws = layers.shape[2]
  in_any_sample = layers.any(axis=1)  # (draws, num_ws)
  cutoffs = np.where(in_any_sample.any(1), np.argmax(in_any_sample, axis=1), num_ws)
  whole_batch = np.all(layers == (np.arange(num_ws)[None, None, :] >= cutoffs[:, None, None]),
                       axis=(1, 2))
  return cutoffs, whole_batch, num_ws


def test_stylegan2_style_mixing_probability_and_cutoffs_over_many_draws():
  """StyleGAN2Loss.run_G: with probability 0.9 the ws from a cutoff drawn uniformly from
  [1, num_ws) on come from a second latent, one cutoff for the whole batch; otherwise none.
  Over 3,000 training passes of the preset's generator (32x32: 8 ws), each cutoff's frequency
  is within 5 standard deviations of the reference's probability."""
  draws = 3000
  cutoffs, whole_batch, num_ws = _mixing_cutoffs('stylegan2', draws)
  assert num_ws == 8 and whole_batch.all()
  counts = np.bincount(cutoffs, minlength=num_ws + 1)
  want = np.array([0.0] + [0.9 / (num_ws - 1)] * (num_ws - 1) + [0.1])
  tolerance = 5 * np.sqrt(draws * want * (1 - want))
  assert np.all(np.abs(counts - draws * want) <= tolerance), (counts, draws * want)
  assert (counts[1:] > 0).all()  # each cutoff of [1, num_ws), and no mixing, all seen
  cifar, _, _ = _mixing_cutoffs('stylegan2_cifar', 50)
  assert (cifar == num_ws).all()  # the reference's cifar spec: style_mixing_prob 0


@pytest.mark.parametrize('preset', sorted(STYLEGAN2))
def test_stylegan2_ema_ramp_is_the_references(preset):
  """training_loop.py's G_ema: ema_nimg = min(ema_kimg * 1000, cur_nimg * ema_rampup), beta =
  0.5 ** (batch / max(ema_nimg, 1e-8)), cur_nimg the images before this step."""
  ref = STYLEGAN2[preset]
  decay = games.recipe(configs.get(preset)).ema_decay
  ramp_end = int(ref['ema_kimg'] * 1000 / (ref['batch'] * ref['ema_rampup']))
  for step in (0, 1, 2, 10, ramp_end - 1, ramp_end + 1, 10 * ramp_end):
    cur_nimg = step * ref['batch']
    ema_nimg = min(ref['ema_kimg'] * 1000, cur_nimg * ref['ema_rampup'])
    want = 0.5 ** (ref['batch'] / max(ema_nimg, 1e-8))
    np.testing.assert_allclose(decay(jnp.asarray(step)), want, rtol=1e-5, atol=1e-30,
                               err_msg=f'step {step}')


def test_the_ema_moves_after_each_step_from_a_copy():
  """The EMA a step keeps: p_ema <- p.lerp(p_ema, beta(step)) with the parameters after the
  step's updates, beta from the images before it (a copy at step 0 under a ramp)."""
  from jaxgan.step import ema_half_life
  config = configs.get('mlp2d')
  generator, critic = families.networks(config.replace(g_widths=(8,), d_widths=(8,)))
  decay = ema_half_life(kimg=1e6, batch_size=8, rampup=1.0)  # beta(step) = 0.5 ** (1 / step)
  game = adversarial.game(generator, critic, games.recipe(config).loss,
                          {'G': optax.sgd(0.1), 'D': optax.sgd(0.1)}, latent_dim=2,
                          sample_shape=(2,), ema_decay=decay, sample_key='point')
  state, step = game.init(jax.random.key(0)), jax.jit(game.make_step())
  points = {'point': jax.random.normal(jax.random.key(1), (8, 2))}
  want = None
  for i in range(3):
    state, _ = step(state, points)
    beta = 0.5 ** (1 / i) if i else 0.0
    p = state.params['G']
    want = p if want is None else jax.tree.map(lambda p, e: p + (e - p) * beta, p, want)
    for got, expected in zip(jax.tree.leaves(state.ema['G']), jax.tree.leaves(want)):
      np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7, err_msg=f'step {i}')


@pytest.mark.parametrize('preset', sorted(STYLEGAN2))
def test_ada_target_interval_and_speed_are_the_references(preset):
  """training_loop.py's ADA heuristic: every ada_interval (4) steps, p += sign(mean of
  sign(D(real)) since the last adjustment - ada_target (0.6)) * batch * 4 / (ada_kimg * 1000),
  kept at least 0. Real logits with 20 of 32 positive (mean sign 0.25), or 26 (0.625) or 25
  (0.5625) of 32, put the heuristic either side of 0.6."""
  ref = STYLEGAN2[preset]
  pipe = games.recipe(configs.get(preset)).augment
  batch = ref['batch']
  rate = batch * 4 / (ref['ada_kimg'] * 1000)

  def logits(positive):
    return jnp.where(jnp.arange(batch) < positive * batch // 32, 1.0, -1.0)

  rounds = [(25, 25, 25, 25), (26, 26, 26, 26), (26, 26, 25, 26), (20, 26, 26, 26),
            (26, 26, 26, 25)]
  state, p, history, want = pipe.init(), 0.0, [], []
  for i, round_ in enumerate(rounds):
    for j, positive in enumerate(round_):
      outputs = augment.DiscriminatorOutputs(logits(positive), jnp.zeros(batch), jnp.mean)
      state = pipe.observe(state, outputs, jnp.int32(4 * i + j))
      history.append(float(state['p']))
    mean_sign = np.mean([(2 * positive - 32) / 32 for positive in round_])
    p_before = p
    p = max(p + np.sign(mean_sign - 0.6) * rate, 0.0)
    want.extend([p_before] * 3 + [p])
  np.testing.assert_allclose(history, want, rtol=1e-6, atol=1e-9)
  assert max(want) == 2 * rate  # the rounds above, below and at the target all moved p


@pytest.mark.parametrize('preset', ['pggan', 'pggan_celebahq'])
def test_pggan_critic_loss_and_penalty_are_the_references(preset):
  """loss.py's D_wgangp_acgan: fake - real + 10 / 1^2 * (|grad D(mixed)| - 1)^2 + 0.001 *
  real^2, averaged; G_wgan: -fake. The penalty's weight and target through critics whose
  gradient norm is the same everywhere (0.5 and 2)."""
  pieces = games.recipe(configs.get(preset))
  real, fake = jnp.array([0.5, -1.5, 2.0, 0.25]), jnp.array([1.0, -0.5, 0.0, 3.0])
  np.testing.assert_allclose(pieces.loss.discriminator(real, fake, jax.random.key(0)),
                             np.mean(fake - real + 0.001 * real ** 2), rtol=1e-6)
  np.testing.assert_allclose(pieces.loss.generator(fake, jax.random.key(0)), -np.mean(fake),
                             rtol=1e-6)
  images = jax.random.normal(jax.random.key(1), (2, 5, 4, 4, 3))
  direction = jax.random.normal(jax.random.key(2), (4, 4, 3))
  direction = direction / jnp.linalg.norm(direction)
  for norm in (0.5, 2.0):
    critic = lambda x, norm=norm: jnp.sum(x * norm * direction, axis=(1, 2, 3))
    view = regularizers.CriticView(critic, images[0], images[1], {}, jnp.mean)
    penalty, _ = pieces.d_regularizer.apply(pieces.d_regularizer.init(), view,
                                            jax.random.key(3), 0)
    np.testing.assert_allclose(penalty, 10.0 / 1.0 ** 2 * (norm - 1.0) ** 2, rtol=1e-5)


@pytest.mark.parametrize('preset, lr, betas, eps', [
    ('pggan', 0.001, (0.0, 0.99), 1e-8), ('pggan_celebahq', 0.001, (0.0, 0.99), 1e-8),
    ('wgan_gp', 1e-4, (0.0, 0.9), 1e-8)])
def test_wgan_presets_train_with_the_references_adam(preset, lr, betas, eps):
  """progressive_growing_of_gans' config.py (Adam 0.001, betas (0, 0.99), epsilon 1e-8) and
  WGAN-GP's Algorithm 1 (1e-4, (0, 0.9)). Both references ran TensorFlow's Adam, which adds
  epsilon before the bias correction: here it is added after, as torch's, a difference below
  1e-7 of an update."""
  optimizers = games.recipe(configs.get(preset)).optimizers
  for name in ('G', 'D'):
    _assert_optimizer_is_adam(optimizers[name], lr, betas, eps)


def test_wgan_gp_penalty_weight_target_and_critic_updates_are_the_papers():
  """Gulrajani et al.'s Algorithm 1: lambda = 10 on (|grad D(x_hat)| - 1)^2, n_critic = 5."""
  config = configs.get('wgan_gp')
  pieces = games.recipe(config)
  images = jax.random.normal(jax.random.key(1), (2, 5, 4, 4, 1))
  for norm in (0.5, 3.0):
    critic = lambda x, norm=norm: norm * x[:, 0, 0, 0]
    view = regularizers.CriticView(critic, images[0], images[1], {}, jnp.mean)
    penalty, _ = pieces.d_regularizer.apply(pieces.d_regularizer.init(), view,
                                            jax.random.key(3), 0)
    np.testing.assert_allclose(penalty, 10.0 * (norm - 1.0) ** 2, rtol=1e-5)
  assert config.n_critic == 5


def test_the_keras_examples_label_noise():
  """The keras.io example's discriminator loss on the `dcgan64` preset: labels 1 for the
  generated batch and 0 for the real one (concatenated in that order), each plus 0.05 * U(0, 1)
  (one draw per label, from the loss's key), binary cross-entropy of the sigmoid averaged;
  the generator's, cross-entropy toward the label 0."""
  loss = games.recipe(configs.get('dcgan64')).loss
  real, fake = jnp.array([0.3, -2.0, 1.5]), jnp.array([-0.7, 0.2, 4.0])
  key = jax.random.key(5)
  labels = jnp.array([1.0, 1, 1, 0, 0, 0]) + 0.05 * jax.random.uniform(key, (6,))
  probabilities = jax.nn.sigmoid(jnp.concatenate([fake, real]))
  want = -jnp.mean(labels * jnp.log(probabilities) + (1 - labels) * jnp.log(1 - probabilities))
  np.testing.assert_allclose(loss.discriminator(real, fake, key), want, rtol=1e-5)
  np.testing.assert_allclose(loss.generator(fake, key),
                             -jnp.mean(jnp.log(1 - jax.nn.sigmoid(fake))), rtol=1e-5)
  noiseless = -jnp.mean(jnp.log(jnp.concatenate([probabilities[:3], 1 - probabilities[3:]])))
  assert abs(float(want - noiseless)) > 1e-3  # the noise shows at these logits


def test_cyclegan_losses_are_the_references_at_the_presets_weights():
  """cycle_gan_model.py at the `cyclegan` preset's weights (lambda_A = lambda_B = 10,
  lambda_identity 0.5, LSGAN): step 0's generator terms by hand at the initial weights, and
  half of each discriminator's squared errors on its domain's real images and the generators'
  translations (the pool, not yet full, passes them on)."""
  config = configs.get('cyclegan').replace(image_size=8, ngf=4, ndf=4, resnet_blocks=1,
                                           d_layers=1, batch_size=4)
  state = start(config)
  rng = np.random.default_rng(0)
  batch = {name: rng.integers(0, 256, (4, 8, 8, 1), dtype=np.uint8)
           for name in ('source', 'image')}
  _, metrics = jax.jit(step_of(config))(state, batch)
  generator, critic = families.networks(config)
  a, b = batch['source'] / 127.5 - 1, batch['image'] / 127.5 - 1
  G = lambda name, x: generator.apply(state.variables(name), x)
  D = lambda name, x: critic.apply(state.variables(name), x, train=True)
  l1 = lambda x, y: np.abs(x - y).mean()
  fake_b, fake_a = G('G_ab', a), G('G_ba', b)
  gan = ((D('D_b', fake_b) - 1) ** 2).mean() + ((D('D_a', fake_a) - 1) ** 2).mean()
  cycle = l1(G('G_ba', fake_b), a) * 10 + l1(G('G_ab', fake_a), b) * 10
  identity = l1(G('G_ab', b), b) * 10 * 0.5 + l1(G('G_ba', a), a) * 10 * 0.5
  lsgan = lambda real, fake: 0.5 * (((real - 1) ** 2).mean() + (fake ** 2).mean())
  want = {'g/adversarial': gan, 'g/cycle': cycle, 'g/identity': identity,
          'g/loss': gan + cycle + identity,
          'd_a/loss': lsgan(D('D_a', a), D('D_a', fake_a)),
          'd_b/loss': lsgan(D('D_b', b), D('D_b', fake_b))}
  for name, value in want.items():
    np.testing.assert_allclose(metrics[name], value, rtol=1e-5, err_msg=name)


def test_diffaugment_policies_shift_by_an_eighth_and_cut_out_half():
  """DiffAugment-pytorch.py's `rand_translation(ratio=0.125)` and `rand_cutout(ratio=0.5)`, as
  a config's policy builds them: on 16x16 images every shift in [-2, 2]^2 occurs and no other,
  and each hole is an 8x8 square (clipped at the borders) whose corner is anywhere from -4 to
  12."""
  images = jax.random.uniform(jax.random.key(0), (400, 16, 16, 1)) + 1.0  # no zero pixels
  moved = np.asarray(augment.diff_augment('translation')(jax.random.key(1), images))
  content = np.asarray(images)
  shifts = set()
  for image, out in zip(content, moved):
    kept = np.argwhere(out[..., 0] != 0)
    (top, left), (bottom, right) = kept.min(0), kept.max(0)
    dy = top if top > 0 else bottom - 15
    dx = left if left > 0 else right - 15
    np.testing.assert_array_equal(out[..., 0], np.roll(image[..., 0], (dy, dx), (0, 1))
                                  * (out[..., 0] != 0))
    shifts.add((int(dy), int(dx)))
  assert shifts == {(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)}
  hidden = np.asarray(augment.diff_augment('cutout')(jax.random.key(2), images))[..., 0] == 0
  rows, cols = hidden.any(2), hidden.any(1)
  heights, widths = rows.sum(1), cols.sum(1)
  inside = rows[:, 0] == rows[:, -1]  # holes that touch neither the top nor the bottom border
  assert (heights[inside & ~rows[:, 0]] == 8).all() and heights.max() == 8
  assert (widths[~cols[:, 0] & ~cols[:, -1]] == 8).all() and widths.max() == 8
  assert (hidden.sum((1, 2)) == heights * widths).all()  # rectangles
  tops = np.where(rows[:, 0], heights - 8, np.argmax(rows, axis=1))
  lefts = np.where(cols[:, 0], widths - 8, np.argmax(cols, axis=1))
  # the reference's offsets: randint(0, 16 + (1 - 8 % 2)) - 8 // 2, the hole's top-left corner
  assert set(tops.tolist()) == set(lefts.tolist()) == set(range(-4, 13))
