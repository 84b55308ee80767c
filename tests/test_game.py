"""The game's pieces: regularizers, augmentations, spectral norm, n_critic; composed
pieces equal the same sums written out by hand."""

import json
import re
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

from jaxgan import augment, configs, families, regularizers
from jaxgan.nets import dcgan
from jaxgan.regularizers import CriticView
from runs import TINY as TINY_FLAGS
from runs import QUIET_FLAGS, assert_trees_close, dynamic_fields, start, step_of, train

ROOT = Path(__file__).resolve().parents[1]
TINY = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), d_widths=(8,),
                                     g_dense_features=8, latent_dim=4, d_dropout=0.0,
                                     batch_size=6, ema_decay=0.0)


def _images(seed, n=6):
  return np.random.default_rng(seed).integers(0, 256, (n, 8, 8, 1), dtype=np.uint8)


def _tiny_critic():
  discriminator = dcgan.Discriminator(widths=(4,), dropout=0.0)
  params = discriminator.init(jax.random.key(1), jnp.zeros((1, 8, 8, 1)), train=False)
  return discriminator, params


def _per_sample_input_gradients(discriminator, params, images, labels=None, augment_fn=None):
  """Each image's own logit gradient, one image at a time (not the batch-sum trick); with
  `augment_fn`, of the logit of the augmented batch (each image its own draw)."""
  labels = () if labels is None else (labels,)

  def logit(i, image):
    batch = images.at[i].set(image)
    batch = batch if augment_fn is None else augment_fn(batch)
    return discriminator.apply(params, batch, *labels, train=True).reshape(len(images))[i]
  gradients = jax.vmap(lambda i: jax.grad(logit, argnums=1)(i, images[i]))(jnp.arange(len(images)))
  return gradients.reshape(len(images), -1)


def test_chained_penalties_equal_the_sum_written_out():
  discriminator, params = _tiny_critic()
  real = jax.random.uniform(jax.random.key(2), (5, 8, 8, 1))
  fake = jax.random.uniform(jax.random.key(3), (5, 8, 8, 1))
  key, step = jax.random.key(4), jnp.int32(8)
  composed = regularizers.chain(gradient_penalty=regularizers.gradient_penalty(10.0),
                                r1=regularizers.r1(3.0, every=4))

  def view(params):
    return CriticView(lambda x: discriminator.apply(params, x, train=True), real, fake, {},
                      jnp.mean)

  def chained(params):
    penalty, _ = composed.apply(composed.init(), view(params), key, step)
    return penalty

  def by_hand(params):
    k_gp, _ = jax.random.split(key)  # chain gives each regularizer its own key
    alpha = jax.random.uniform(k_gp, (5, 1, 1, 1))
    between = _per_sample_input_gradients(discriminator, params, alpha * real + (1 - alpha) * fake)
    gp = 10.0 * jnp.mean((jnp.linalg.norm(between, axis=1) - 1.0) ** 2)
    at_real = _per_sample_input_gradients(discriminator, params, real)
    r1 = 4 * 3.0 / 2 * jnp.mean(jnp.sum(at_real ** 2, axis=1))  # lazy: x4 on steps 0, 4, 8...
    return gp + r1

  (value, grads), (want_value, want_grads) = (jax.jit(jax.value_and_grad(f))(params)
                                              for f in (chained, by_hand))
  np.testing.assert_allclose(value, want_value, rtol=1e-5)
  assert_trees_close(grads, want_grads, rtol=1e-5)
  off_step, _ = composed.apply(composed.init(), view(params), key, jnp.int32(9))
  gp_only, _ = regularizers.gradient_penalty(10.0).apply((), view(params),
                                                         jax.random.split(key)[0], 9)
  np.testing.assert_allclose(off_step, gp_only, rtol=1e-6)  # lazy R1 skips step 9


COMPOSED = TINY.replace(loss='non_saturating', gp_weight=10.0, r1_gamma=1.0, n_critic=2,
                        augment='color,translation,cutout', optimizer='adam', ema_decay=0.9)


def _step_written_out(state, batch, generator, discriminator, optimizers, config=COMPOSED):
  """The documented game by hand (non-saturating loss, GP + R1, DiffAugment, n_critic, EMA):
  each critic update on its own real batch (row i * n_critic + k is update k's i-th image), the
  augmentation on the real and the generated images the critic sees and inside the generator's
  loss, both penalties at the images before augmentation, through the critic as it sees them
  (augmented with a draw of the penalties' own, fold_in(augment key, 1)) and differentiated
  into the critic's gradient. Conditional: each real image
  with its label, the generated ones with classes drawn from fold_in(update key, 1), the
  penalties at the real images' labels."""
  n, latent = config.batch_size, config.latent_dim
  augment_images = augment.diff_augment(config.augment)
  classes = len(config.classes) if config.conditional else 0
  with_labels = lambda y: () if y is None else (y,)
  G = lambda params, z, y: generator.apply({'params': params}, z, *with_labels(y))
  D = lambda params, x, y: discriminator.apply({'params': params}, x, *with_labels(y), train=True)
  drawn = lambda key: jax.random.randint(jax.random.fold_in(key, 1), (n,), 0, classes) \
      if classes else None
  k_d, k_g = jax.random.split(jax.random.fold_in(state.key, state.step))
  real = (batch['image'] / 255.0).reshape(n, config.n_critic, *batch['image'].shape[1:])
  real_labels = batch['label'].reshape(n, config.n_critic) if classes else None
  d, d_opt_state = state.params['D'], state.opt_state['D']
  for k in range(config.n_critic):
    k_update = jax.random.fold_in(k_d, k)
    k_z, _, _, k_augment, k_penalties = jax.random.split(k_update, 5)
    y_fake, y_real = drawn(k_update), None if real_labels is None else real_labels[:, k]
    fake = G(state.params['G'], jax.random.normal(k_z, (n, latent)), y_fake)
    seen = augment_images(k_augment, jnp.concatenate([fake, real[:, k]]))
    seen_fake, seen_real = seen[:n], seen[n:]

    def d_loss(d):
      loss = (jax.nn.softplus(-D(d, seen_real, y_real)).mean()
              + jax.nn.softplus(D(d, seen_fake, y_fake)).mean())
      k_gp, _ = jax.random.split(k_penalties)
      alpha = jax.random.uniform(k_gp, (n, 1, 1, 1))
      seen_by_penalties = lambda x: augment_images(jax.random.fold_in(k_augment, 1), x)
      between = _per_sample_input_gradients(discriminator, {'params': d}, alpha * real[:, k]
                                            + (1 - alpha) * fake, y_real, seen_by_penalties)
      gp = config.gp_weight * jnp.mean((jnp.sqrt(jnp.sum(between ** 2, 1) + 1e-12) - 1) ** 2)
      at_real = _per_sample_input_gradients(discriminator, {'params': d}, real[:, k], y_real,
                                            seen_by_penalties)
      r1 = config.r1_gamma / 2 * jnp.mean(jnp.sum(at_real ** 2, 1))
      return loss + gp + r1

    real_logits, fake_logits = D(d, seen_real, y_real), D(d, seen_fake, y_fake)
    d_grads = jax.grad(d_loss)(d)
    updates, d_opt_state = optimizers['D'].update(d_grads, d_opt_state, d)
    d = optax.apply_updates(d, updates)
  k_z, _, _, k_augment, _ = jax.random.split(k_g, 5)
  z, y_g = jax.random.normal(k_z, (n, latent)), drawn(k_g)
  g_loss = lambda g: jax.nn.softplus(-D(d, augment_images(k_augment, G(g, z, y_g)), y_g)).mean()
  g_grads = jax.grad(g_loss)(state.params['G'])
  updates, g_opt_state = optimizers['G'].update(g_grads, state.opt_state['G'], state.params['G'])
  g = optax.apply_updates(state.params['G'], updates)
  ema = jax.tree.map(lambda e, p: config.ema_decay * e + (1 - config.ema_decay) * p,
                     state.ema['G'], g)
  # The equilibrium's numbers, by their definitions: the last critic update's outputs on what it
  # saw (a logit above 0 says "real"), and the norms of the gradients each network stepped on.
  metrics = {'d/real_logit': real_logits.mean(), 'd/fake_logit': fake_logits.mean(),
             'd/real_accuracy': jnp.mean(real_logits > 0),
             'd/fake_accuracy': jnp.mean(fake_logits < 0),
             'grad_norm/D': jnp.sqrt(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(d_grads))),
             'grad_norm/G': jnp.sqrt(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(g_grads)))}
  return state.replace(step=state.step + 1, params={'G': g, 'D': d},
                       opt_state={'G': g_opt_state, 'D': d_opt_state}, ema={'G': ema}), metrics


@pytest.mark.parametrize('conditional', [False, True])
def test_composed_step_equals_the_game_written_out_by_hand(conditional):
  """Non-saturating loss + GP + R1 + DiffAugment + n_critic 2 + EMA, from the config, through
  the real step; unconditional, and class-conditional with a projection critic. (Not hinge:
  with every logit inside (-1, 1) its bias gradient is exactly zero by hand and rounding noise
  in the step, which no relative tolerance can compare.)"""
  config = COMPOSED.replace(conditional=True, classes=tuple('abc')) if conditional else COMPOSED
  generator, discriminator = families.networks(config)
  game = families.game(config)
  state = want = start(config)
  step = jax.jit(step_of(config))
  by_hand = jax.jit(lambda state, batch: _step_written_out(state, batch, generator, discriminator,
                                                           game.optimizers, config))
  for i in range(2):
    rows = config.batch_size * config.n_critic
    batch = {'image': _images(i, n=rows),
             **({'label': np.arange(rows, dtype=np.int32) % 3} if conditional else {})}
    state, metrics = step(state, batch)
    want, want_metrics = by_hand(want, batch)
  assert float(metrics['d/penalty']) > 0
  assert_trees_close(dynamic_fields(state), dynamic_fields(want), rtol=1e-4)
  # a check that can tell "real" from "generated": an accuracy strictly between 0 and 1/2 or 1
  assert any(0 < float(want_metrics[f'd/{kind}_accuracy']) not in (0.5, 1.0)
             for kind in ('real', 'fake')), want_metrics
  for name, value in want_metrics.items():
    np.testing.assert_allclose(metrics[name], value, rtol=1e-4, err_msg=name)


def test_n_critic_updates_the_critic_n_times_per_generator_update():
  config = TINY.replace(n_critic=3, loss='wasserstein', gp_weight=10.0, optimizer='adam')
  state = start(config)
  step = jax.jit(step_of(config))
  for i in range(2):
    state, metrics = step(state, {'image': _images(i, n=6 * 3)})  # a real batch per update
  assert int(state.opt_state['D'][0].count) == 6 and int(state.opt_state['G'][0].count) == 2
  assert np.isfinite(float(metrics['d/penalty'])) and float(metrics['d/penalty']) > 0


def test_translation_and_cutout_move_and_hide_pixels():
  images = jax.random.uniform(jax.random.key(0), (16, 8, 8, 1)) + 1.0  # no zero pixels
  moved = np.asarray(augment.translation(0.25)(jax.random.key(1), images))
  for image, out in zip(np.asarray(images), moved):
    shifts = [(dy, dx) for dy in range(-2, 3) for dx in range(-2, 3)
              if np.array_equal(out, _shifted(image, dy, dx))]
    assert len(shifts) == 1
  hidden = np.asarray(augment.cutout(0.5)(jax.random.key(2), images))
  zeros = hidden == 0
  assert np.all(hidden[~zeros] == np.asarray(images)[~zeros])
  assert all(0 < z.sum() <= 16 for z in zeros)  # one 4x4 square, clipped at the borders
  # Differentiable, and each key gives its own draw.
  policy = augment.diff_augment()
  gradient = jax.grad(lambda x: policy(jax.random.key(3), x).sum())(images)
  assert np.all(np.isfinite(gradient)) and np.any(gradient != 0)
  assert not np.allclose(policy(jax.random.key(3), images), policy(jax.random.key(4), images))
  with pytest.raises(ValueError, match="unknown augmentation 'blur'"):
    augment.diff_augment('color,blur')


def _shifted(image, dy, dx):
  out = np.zeros_like(image)
  h, w = image.shape[:2]
  out[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
      image[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
  return out


def test_spectral_norm_keeps_each_layer_near_unit_norm_while_training():
  config = TINY.replace(spectral_norm=True, d_widths=(8, 16), g_widths=(8, 8), image_size=16)
  generator, discriminator = families.networks(config)
  state = start(config)
  assert 'batch_stats' in state.variables('D')
  step = jax.jit(step_of(config))
  before = jax.tree.leaves(state.variables('D')['batch_stats'])
  for i in range(30):
    images = np.random.default_rng(i).integers(0, 256, (6, 16, 16, 1), dtype=np.uint8)
    state, metrics = step(state, {'image': images})
  assert np.isfinite(float(metrics['d/loss']))
  assert not all(np.array_equal(a, b) for a, b in
                 zip(before, jax.tree.leaves(state.variables('D')['batch_stats'])))
  # The power iteration's estimate tracks each kernel's largest singular value.
  stats = {name: value for group in state.variables('D')['batch_stats'].values()
           for name, value in group.items()}  # {'Conv_0/kernel/u': ..., '.../sigma': ...}
  estimates = {name.split('/')[0]: float(value) for name, value in stats.items()
               if name.endswith('/kernel/sigma')}
  assert set(estimates) == set(state.variables('D')['params']) == {'Conv_0', 'Conv_1', 'Dense_0'}
  normalized = {}
  for layer, estimate in estimates.items():
    kernel = np.asarray(state.variables('D')['params'][layer]['kernel'], np.float64)
    matrix = kernel.reshape(-1, kernel.shape[-1])
    np.testing.assert_allclose(estimate, np.linalg.svd(matrix, compute_uv=False)[0], rtol=0.05,
                               err_msg=layer)
    # What the layer uses: one more power iteration from the stored u, then W / sigma.
    u = np.asarray(stats[f'{layer}/kernel/u'], np.float64)
    v = u @ matrix.T / np.linalg.norm(u @ matrix.T)
    u = v @ matrix / np.linalg.norm(v @ matrix)
    normalized[layer] = {**state.variables('D')['params'][layer],
                         'kernel': kernel / (v @ matrix @ u.T)[0, 0]}
  # The spectrally normalized critic is the plain critic holding the normalized weights.
  images = jax.random.uniform(jax.random.key(5), (4, 16, 16, 1))
  plain = families.networks(config.replace(spectral_norm=False))[1]
  np.testing.assert_allclose(discriminator.apply(state.variables('D'), images, train=False),
                             plain.apply({'params': normalized}, images, train=False),
                             rtol=1e-5, atol=1e-6)


def test_color_is_brightness_saturation_and_contrast_drawn_per_image():
  """DiffAugment's color: x + b, then channel deviations x s, then deviations from the image
  mean x c. The output is exactly of that form, and each factor is recovered from it and spans
  its range: b in [-0.5, 0.5], s in [0, 2], c in [0.5, 1.5]."""
  x = np.asarray(jax.random.uniform(jax.random.key(0), (256, 6, 6, 3)), np.float64)
  out = np.asarray(augment.color()(jax.random.key(1), jnp.asarray(x, jnp.float32)), np.float64)
  pixel_x, pixel_out = x.mean(3, keepdims=True), out.mean(3, keepdims=True)
  b = (out.mean((1, 2, 3)) - x.mean((1, 2, 3)))
  along = (pixel_x - x.mean((1, 2, 3), keepdims=True)).reshape(len(x), -1)
  c = np.sum((pixel_out - out.mean((1, 2, 3), keepdims=True)).reshape(len(x), -1) * along, 1) \
      / np.sum(along ** 2, 1)
  deviations = (x - pixel_x).reshape(len(x), -1)
  s = np.sum((out - pixel_out).reshape(len(x), -1) * deviations, 1) / np.sum(deviations ** 2, 1) / c
  expected = (c * s)[:, None, None, None] * (x - pixel_x) + c[:, None, None, None] * (
      pixel_x - x.mean((1, 2, 3), keepdims=True)) + (x.mean((1, 2, 3)) + b)[:, None, None, None]
  np.testing.assert_allclose(out, expected, atol=1e-5)
  for factor, (low, high) in ((b, (-0.5, 0.5)), (s, (0.0, 2.0)), (c, (0.5, 1.5))):
    assert low - 1e-4 <= factor.min() < low + 0.1 * (high - low), (low, factor.min())
    assert high - 0.1 * (high - low) < factor.max() <= high + 1e-4, (high, factor.max())


@pytest.mark.slow
def test_readme_extension_example_runs():
  """The README's custom regularizer, in a user's own file, needs no change to jaxgan."""
  readme = (ROOT / 'README.md').read_text()
  example = re.search(r'```python\n(# my_penalties\.py.*?)```', readme, re.S).group(1)
  namespace = {}
  exec(compile(example, 'my_penalties.py', 'exec'), namespace)
  assert len(example.splitlines()) <= 30
  state, metrics = namespace['state'], namespace['metrics']
  assert int(state.step) == 1 and np.isfinite(float(metrics['d/penalty']))


# wgan_gp trains through the loop in test_presets_pinned.py; dcgan64 and dcgan32 differ from
# digits in sizes only, which test_nets.py checks.
@pytest.mark.slow
@pytest.mark.parametrize('preset, steps, check', [('mlp2d', '200', 'modes_check'),
                                                  ('conditional', '4', 'digits_check')])
def test_presets_train_from_the_command_line(tmp_path, preset, steps, check):
  flags = TINY_FLAGS if preset != 'mlp2d' else [  # MLPs: no g_dense_features to set
      '--set', 'g_widths=32,16', '--set', 'd_widths=16,32', '--batch-size', '16', *QUIET_FLAGS]
  result = train(tmp_path, '--config', preset, '--steps', steps, '--set', 'log_every=2',
                 flags=flags)
  assert result.returncode == 0, result.stderr
  record = json.loads((tmp_path / 'metrics.jsonl').read_text().splitlines()[-1])
  logged = ('d/loss', 'g/loss') + (('d/penalty',) if preset == 'mlp2d' else ())
  assert all(np.isfinite(record[name]) for name in logged)
  grid = np.asarray(Image.open(tmp_path / 'samples' / 'final.png'))
  report = json.loads((tmp_path / f'{check}.json').read_text())
  if check == 'modes_check':
    assert set(report) == {'modes', 'high_quality', 'reverse_kl'}
  if preset == 'conditional':  # a row per class, the classes recorded with the run
    assert json.loads((tmp_path / 'config.json').read_text())['classes'] == list('0123456789')
    scale = grid.shape[1] // (8 * 17 - 1)  # 8 columns of 16-pixel images, 1-pixel gaps
    assert (grid.shape[0] // scale + 1) // 17 == 10
    assert len(report['per_class_accuracy']) == 10 and 0 <= report['class_accuracy'] <= 1
