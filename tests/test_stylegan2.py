"""StyleGAN2: the networks equal stylegan2-ada-pytorch's on the same weights, and each operation
equals its definition written out naively.

`fixtures/stylegan2_reference.npz` was recorded by `tools/record_stylegan2.py`: the
reference's Generator and Discriminator (small, class-conditional, every parameter random),
their state dicts and their outputs on fixed latents, labels and images. No torch needed here.
"""

from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from jaxgan.nets import stylegan2 as sg2
from jaxgan.nets import stylegan2_weights
from jaxgan.commands import convert as convert_command
from jaxgan.commands import sample as sample_command
from runs import QUIET, jit_apply
from jaxgan import families

FIXTURE = np.load(Path(__file__).parent / 'fixtures' / 'stylegan2_reference.npz')


def _state_dict(prefix):
  return {name[2:]: FIXTURE[name] for name in FIXTURE.files if name.startswith(prefix + '/')}


@pytest.fixture(scope='module')
def reference():
  g_dict, d_dict = _state_dict('G'), _state_dict('D')
  generator = sg2.Generator(**stylegan2_weights.generator_architecture(g_dict))
  discriminator = sg2.Discriminator(**stylegan2_weights.discriminator_architecture(d_dict),
                                    mbstd_group_size=2)
  return (generator, stylegan2_weights.to_variables(g_dict), discriminator,
          stylegan2_weights.to_variables(d_dict))


def test_architecture_is_read_from_the_tensors_shapes(reference):
  generator, g_vars, discriminator, d_vars = reference
  assert (generator.resolution, generator.z_dim, generator.w_dim, generator.num_classes,
          generator.mapping_layers, generator.channel_max) == (16, 16, 16, 3, 2, 16)
  assert (discriminator.architecture, discriminator.mbstd_num_channels) == ('resnet', 2)
  # Shapes only: traced, not run (`jax.eval_shape`).
  fresh = jax.eval_shape(lambda: generator.init(
      {'params': jax.random.key(0), 'noise': jax.random.key(1)}, jnp.zeros((1, 16)),
      jnp.zeros((1,), jnp.int32)))
  assert jax.tree.structure(fresh) == jax.tree.structure(g_vars)
  assert all(a.shape == b.shape for a, b in zip(jax.tree.leaves(fresh), jax.tree.leaves(g_vars)))
  fresh = jax.eval_shape(lambda: discriminator.init(
      jax.random.key(0), jnp.zeros((2, 16, 16, 3)), jnp.zeros((2,), jnp.int32)))
  assert jax.tree.structure(fresh) == jax.tree.structure(d_vars)


@pytest.mark.parametrize('psi', [1.0, 0.6])
def test_generator_equals_the_references_with_its_constant_noise(reference, psi):
  """To 1e-5 of the images' scale (measured: about 1e-6): the mapping, truncation toward w_avg,
  modulated and demodulated convolutions, the noise buffers and strengths, the skip ToRGBs."""
  generator, variables, _, _ = reference
  images = jit_apply(generator, truncation_psi=psi, noise_mode='const')(
      variables, FIXTURE['z'], FIXTURE['labels'])
  want = FIXTURE[f'images_psi{psi}']
  assert images.shape == want.shape == (4, 16, 16, 3)
  assert np.abs(images - want).max() < 1e-5 * np.abs(want).max()


def test_generator_without_noise_and_the_mapped_ws_equal_the_references(reference):
  generator, variables, _, _ = reference
  ws = jit_apply(generator, method='map')(variables, FIXTURE['z'], FIXTURE['labels'])
  np.testing.assert_allclose(ws, FIXTURE['ws'], atol=1e-5)
  images = jit_apply(generator, noise_mode='none')(variables, FIXTURE['z'], FIXTURE['labels'])
  want = FIXTURE['images_no_noise']
  assert np.abs(images - want).max() < 1e-5 * np.abs(want).max()


def test_discriminator_equals_the_references(reference):
  """Residual blocks, minibatch stddev (groups of 2, 2 channel groups), the label projection."""
  _, _, discriminator, variables = reference
  logits = jit_apply(discriminator)(variables, FIXTURE['d_images'], FIXTURE['labels'])
  np.testing.assert_allclose(logits, FIXTURE['d_logits'][:, 0], atol=1e-5)


def test_gradients_equal_the_references(reference):
  """Backward too: the gradient of sum(G(z, c) * directions) for every generator parameter, and
  of D's summed logits for every discriminator parameter and for the images (R1's path), equal
  the reference's autograd (to 1e-4 of each gradient's scale)."""
  generator, g_vars, discriminator, d_vars = reference
  z, labels = FIXTURE['z'], FIXTURE['labels']
  g_loss = lambda params: jnp.sum(generator.apply({**g_vars, 'params': params}, z, labels,
                                                  noise_mode='const') * FIXTURE['g_directions'])
  d_loss = lambda params, images: discriminator.apply({'params': params}, images, labels).sum()
  # Each compiled as one program: run op by op, the many small programs take longer.
  g_grads = stylegan2_weights.to_state_dict({'params': jax.jit(jax.grad(g_loss))(
      g_vars['params'])})
  d_grads, image_grads = jax.jit(jax.grad(d_loss, argnums=(0, 1)))(
      d_vars['params'], jnp.asarray(FIXTURE['d_images']))
  d_grads = stylegan2_weights.to_state_dict({'params': d_grads})
  for prefix, grads in (('G', g_grads), ('D', d_grads)):
    wanted = {name[len(prefix) + 6:]: FIXTURE[name] for name in FIXTURE.files
              if name.startswith(f'{prefix}_grad/')}
    assert wanted.keys() == grads.keys()
    for name, want in wanted.items():
      scale = max(np.abs(want).max(), 1e-6)
      assert np.abs(grads[name] - want).max() < 1e-4 * scale + 1e-7, f'{prefix} {name}'
  want = FIXTURE['D_grad_images']
  assert np.abs(image_grads - want).max() < 1e-4 * np.abs(want).max()


def test_state_dict_round_trip(reference):
  _, g_vars, _, _ = reference
  back = stylegan2_weights.to_state_dict(g_vars)
  want = {k: v for k, v in _state_dict('G').items() if not k.endswith('resample_filter')}
  assert back.keys() == want.keys()
  assert all(np.array_equal(back[k], want[k]) for k in want)


# ---------------------------------------------------------------- operations, written out

def _naive_upfirdn2d(x, f, up, down, pad):
  """Zero insertion, zero padding and a true convolution by explicit sums, one pixel at a time."""
  n, h, w, c = x.shape
  upsampled = np.zeros((n, h * up, w * up, c))
  upsampled[:, ::up, ::up] = x
  x0, x1, y0, y1 = pad
  padded = np.pad(upsampled, ((0, 0), (y0, y1), (x0, x1), (0, 0)))
  fh, fw = f.shape
  out_h, out_w = padded.shape[1] - fh + 1, padded.shape[2] - fw + 1
  out = np.zeros((n, out_h, out_w, c))
  for i in range(out_h):
    for j in range(out_w):
      for a in range(fh):
        for b in range(fw):  # convolution: the filter flipped
          out[:, i, j] += padded[:, i + a, j + b] * f[fh - 1 - a, fw - 1 - b]
  return out[:, ::down, ::down]


@pytest.mark.parametrize('up,down,pad', [(2, 1, (2, 1, 2, 1)), (1, 2, (1, 1, 1, 1)),
                                         (1, 1, (3, 0, 1, 2)), (2, 1, (3, 2, 3, 2))])
def test_upfirdn2d_equals_its_definition(up, down, pad):
  x = np.random.default_rng(0).standard_normal((2, 5, 6, 3)).astype(np.float32)
  f = np.random.default_rng(1).random((4, 3)).astype(np.float32)  # asymmetric: flips show
  got = sg2.upfirdn2d(jnp.asarray(x), f, up=up, down=down, padding=pad)
  np.testing.assert_allclose(got, _naive_upfirdn2d(x, f, up, down, pad), atol=1e-5)


def test_modulated_convolution_equals_a_convolution_per_sample_with_its_own_weights():
  """The reference's fused definition: per sample, weight * style (per input channel), each
  output channel's weights divided by their norm, one convolution (with upsampling too)."""
  rng = np.random.default_rng(0)
  x = rng.standard_normal((3, 6, 6, 4)).astype(np.float32)
  weight = rng.standard_normal((5, 4, 3, 3)).astype(np.float32)
  styles = rng.uniform(0.2, 2.0, (3, 4)).astype(np.float32)
  f = sg2.setup_filter()
  for up, flip in ((1, True), (2, False)):
    got = sg2.modulated_conv2d(jnp.asarray(x), weight, styles, up=up, padding=1,
                               resample_filter=f, flip_weight=flip)
    for i in range(3):
      w = weight * styles[i][None, :, None, None]
      w = w / np.sqrt(np.sum(w ** 2, axis=(1, 2, 3), keepdims=True) + 1e-8)
      want = sg2.conv2d_resample(jnp.asarray(x[i:i + 1]), w, f, up=up, padding=1,
                                 flip_weight=flip)
      np.testing.assert_allclose(got[i:i + 1], want, atol=2e-5)


def test_demodulation_gives_unit_variance():
  """Unit-variance input, any weights and styles: the demodulated output has unit variance."""
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((4, 64, 64, 32)), jnp.float32)
  weight = rng.standard_normal((16, 32, 3, 3)) * rng.uniform(0.1, 10, (16, 1, 1, 1))
  styles = rng.uniform(0.1, 5.0, (4, 32))
  out = sg2.modulated_conv2d(x, jnp.asarray(weight, jnp.float32),
                             jnp.asarray(styles, jnp.float32), padding=1)
  variance = np.asarray(out[:, 1:-1, 1:-1]).var(axis=(1, 2))  # interior: no zero padding
  # Each channel's estimate from 62 x 62 correlated pixels: within 0.12 each, 0.02 on average
  # (without demodulation the variances range over orders of magnitude).
  np.testing.assert_allclose(variance, 1.0, atol=0.12)
  assert abs(variance.mean() - 1.0) < 0.02


def test_equalized_lr_layers_are_plain_layers_with_scaled_weights():
  rng = np.random.default_rng(0)
  x = jnp.asarray(rng.standard_normal((2, 8)), jnp.float32)
  dense = sg2.FullyConnected(5, 'lrelu', lr_multiplier=0.01, bias_init=0.5)
  params = dense.init(jax.random.key(0), x)
  w, b = params['params']['weight'], params['params']['bias']
  assert abs(float(jnp.std(w)) * 0.01 - 1) < 0.5  # stored N(0, 1) / lr_multiplier
  plain = jax.nn.leaky_relu(x @ (w * 0.01 / np.sqrt(8)).T + b * 0.01, 0.2) * np.sqrt(2)
  np.testing.assert_allclose(dense.apply(params, x), plain, rtol=1e-5, atol=1e-6)
  image = jnp.asarray(rng.standard_normal((2, 8, 8, 3)), jnp.float32)
  conv = sg2.Conv(4, 3)
  params = conv.init(jax.random.key(1), image)
  w = params['params']['weight']
  plain = lax.conv_general_dilated(image, jnp.transpose(w, (2, 3, 1, 0)) / np.sqrt(27), (1, 1),
                                   'SAME', dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  np.testing.assert_allclose(conv.apply(params, image), plain, rtol=1e-5, atol=1e-5)


def test_minibatch_stddev_written_out():
  x = np.random.default_rng(0).standard_normal((4, 3, 3, 6)).astype(np.float32)
  got = np.asarray(sg2.minibatch_stddev(jnp.asarray(x), group_size=2, num_channels=2))
  assert got.shape == (4, 3, 3, 8)
  for i in range(4):
    group = x[[i % 2, i % 2 + 2]]  # groups are samples i, i + n/g
    for f in range(2):
      part = group[..., 3 * f:3 * f + 3]
      want = np.sqrt(part.var(axis=0) + 1e-8).mean()
      np.testing.assert_allclose(got[i, :, :, 6 + f], want, rtol=1e-5)


def test_training_mode_tracks_w_avg_and_mixes_styles(reference):
  """With 'buffers' mutable (the game's step), w_avg moves toward the batch's mean w by 1 - beta
  and style mixing (probability 1) takes a second latent's w from a cutoff on; sampling (the
  buffers immutable) does neither."""
  generator, variables, _, _ = reference
  z, labels = FIXTURE['z'], FIXTURE['labels']
  ws = generator.apply(variables, z, labels, method='map')
  mixing = generator.clone(style_mixing_prob=1.0)
  mixed, updated = mixing.apply(variables, z, labels, method='map', mutable=['buffers'],
                                rngs={'noise': jax.random.key(0)})
  w_avg = variables['buffers']['mapping']['w_avg']
  np.testing.assert_allclose(updated['buffers']['mapping']['w_avg'],
                             ws[:, 0].mean(0) + 0.995 * (w_avg - ws[:, 0].mean(0)), atol=1e-6)
  same = np.all(np.isclose(mixed, ws), axis=(0, 2))
  cutoff = int(np.argmin(same))
  assert 1 <= cutoff < ws.shape[1] and same[:cutoff].all() and not same[cutoff:].any()
  np.testing.assert_array_equal(mixing.apply(variables, z, labels, method='map'), ws)


# ---------------------------------------------------------------- the presets and the recipe

def _tiny_config():
  from jaxgan import configs
  return configs.get('stylegan2').replace(
      image_size=8, latent_dim=8, w_dim=8, mapping_layers=1, channel_base=32, channel_max=8,
      mbstd_group=2, batch_size=4, r1_every=2, pl_every=2, steps=6, log_every=1,
      checkpoint_every=3, sample_every=3, eval_every=0, ema_kimg=0.01, sample_grid=2)


def test_stylegan2_cifar_networks_have_the_references_parameter_counts():
  """The reference's `--cfg cifar` networks (counted in stylegan2-ada-pytorch 2021's
  training/networks.py: G 19,947,539, D 20,720,641 parameters)."""
  from jaxgan import configs
  generator, discriminator = families.networks(configs.get('stylegan2_cifar'))
  g = jax.eval_shape(lambda: generator.init({'params': jax.random.key(0),
                                              'noise': jax.random.key(0)}, jnp.zeros((1, 512))))
  d = jax.eval_shape(lambda: discriminator.init(jax.random.key(0), jnp.zeros((32, 32, 32, 3))))
  count = lambda tree: sum(int(np.prod(leaf.shape)) for leaf in jax.tree.leaves(tree))
  assert (count(g['params']), count(d['params'])) == (19_947_539, 20_720_641)


@pytest.mark.slow
def test_stylegan2_trains_and_resumes_exactly(tmp_path):
  """The recipe through the loop (lazy R1 and path length as their own Adam steps, style
  mixing, w_avg, the ramped EMA, ADA): a run stopped at step 3 and resumed ends bitwise equal
  to one run of 6 steps; the penalties applied on their steps, the path length mean and w_avg
  moved, and the EMA differs from the generator.

  And as the reference's loss runs D on generated and on real images in separate calls, so that
  its minibatch standard deviation groups never mix them, the first step's real logits are D's
  on the real batch alone (ADA's p is 0 at the start)."""
  import json

  from jaxgan.step import to_model_range
  from jaxgan.train import batches_for
  from runs import one_device, resumes_exactly
  config = _tiny_config()
  whole = resumes_exactly(config, tmp_path, stop=3)
  records = [json.loads(line) for line in (tmp_path / 'whole' / 'metrics.jsonl').open()]
  game = families.game(config)
  batches = batches_for(config, families.of(config).dataset(config).examples, game, one_device())
  start = game.init(jax.random.key(config.seed))
  alone = families.networks(config)[1].apply(start.variables('D'),
                                      to_model_range(batches.batch(0)['image'], (-1.0, 1.0)))
  np.testing.assert_allclose(records[0]['d/real_logit'], float(alone.mean()), rtol=1e-5)
  assert [r['d/penalty'] > 0 for r in records] == [True, False] * 3  # steps 0, 2, 4 regularize
  assert [r['g/penalty'] > 0 for r in records] == [True, False] * 3
  assert float(whole.pieces['g_regularizer']) > 0
  assert float(jnp.abs(whole.collections['G']['buffers']['mapping']['w_avg']).max()) > 0
  ema, params = whole.ema['G'], whole.params['G']
  assert any(not np.allclose(a, b) for a, b in zip(jax.tree.leaves(ema), jax.tree.leaves(params)))
  assert (tmp_path / 'whole' / 'samples' / 'final.png').exists()
  # The end-of-run digits check reads the samples in [0, 1], mapped from the generator's [-1, 1].
  from jaxgan.evaluate.digits import digit_report
  from jaxgan.sample import Generator
  from jaxgan.families.common import DIGIT_CHECK_SAMPLES
  images = Generator(tmp_path / 'whole').draw(jax.random.key(config.seed + 1),
                                              DIGIT_CHECK_SAMPLES)
  check = json.loads((tmp_path / 'whole' / 'digits_check.json').read_text())
  assert check['class_histogram'] == digit_report(images)['class_histogram']


@pytest.mark.slow
def test_reference_weights_convert_into_a_workdir_that_samples_the_references_images(
    tmp_path, capsys):
  """`python -m jaxgan.convert` on the reference's state dicts (.npz), then `python -m
  jaxgan.sample --latents --noise const [--truncation]`: the reference's images (its constant
  noise, the same latents and classes), and the discriminator's logits from the workdir."""
  from runs import final_state, main_in_process
  for prefix in ('G', 'D'):
    np.savez(tmp_path / f'{prefix}.npz', **_state_dict(prefix))
  code, out, err = main_in_process(capsys, '--generator', str(tmp_path / 'G.npz'),
                                   '--discriminator', str(tmp_path / 'D.npz'), '--out',
                                   str(tmp_path / 'run'), '--set', 'mbstd_group=2',
                                   main=convert_command.main)
  assert code == 0 and '16x16x3' in out and '3 classes' in out, err
  np.save(tmp_path / 'z.npy', FIXTURE['z'][:3])  # classes in turn: 0, 1, 2 = the fixture's
  for psi in (1.0, 0.6):
    code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--latents',
                                   str(tmp_path / 'z.npy'), '--noise', 'const', '--truncation',
                                   str(psi), '--out', str(tmp_path / 'x.npy'), main=sample_command.main)
    assert code == 0, err
    want = (FIXTURE[f'images_psi{psi}'][:3] + 1) / 2  # the generator's [-1, 1] as [0, 1]
    np.testing.assert_allclose(np.load(tmp_path / 'x.npy'), want, atol=1e-5)
  state = final_state(tmp_path / 'run')
  d = sg2.Discriminator(**stylegan2_weights.discriminator_architecture(_state_dict('D')),
                        mbstd_group_size=2)
  np.testing.assert_allclose(d.apply(state.variables('D'), FIXTURE['d_images'], FIXTURE['labels']),
                             FIXTURE['d_logits'][:, 0], atol=1e-5)
  # One line for what cannot be converted or drawn.
  code, _, err = main_in_process(capsys, '--generator', str(tmp_path / 'D.npz'), '--out',
                                 str(tmp_path / 'other'), main=convert_command.main)
  assert code == 2 and err.count('\n') == 1 and 'generator' in err
  code, _, err = main_in_process(capsys, '--generator', str(tmp_path / 'G.npz'), '--out',
                                 str(tmp_path / 'run'), main=convert_command.main)
  assert code == 2 and 'already holds a run' in err
  np.save(tmp_path / 'bad.npy', np.zeros((2, 5), np.float32))
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--latents',
                                 str(tmp_path / 'bad.npy'), '--out', str(tmp_path / 'x.npy'),
                                 main=sample_command.main)
  assert code == 2 and err.count('\n') == 1 and '(n, 16)' in err


@pytest.mark.slow
def test_conditional_stylegan2_through_the_loop_then_fine_tuned_with_freeze_d(tmp_path, capsys):
  """`--set conditional=true`: the label embedding in the mapping network and the projection
  in the discriminator, trained on the digits' classes and sampled per class.

  Then `--init-from DIR`: a new run starts from DIR's latest weights (its EMA and w_avg too), with
  fresh optimizer states and step; `freeze_d` keeps the discriminator's first layers (the
  reference's numbering: fromrgb, conv0, conv1, skip of the first block, ...) as they were.
  Shapes that differ are one line naming the tensor. (One test, so that the conditional run is
  trained once; both runs freeze the same layers and differ only in their seeds, so they run one
  compiled step: a tiny StyleGAN2 step takes 20-45 s to compile here.)"""
  from jaxgan.sample import Generator
  from jaxgan.train import run
  from runs import QUIET_FLAGS, final_state, main_in_process, one_device, start
  # Without ADA, a third of each program's compile time (the resume test trains with it), and
  # with both penalties every step, without the lazy steps' branches (one session: the step's
  # trace 7.7 -> 5.6 s, its compile 19.3 -> 16.0 s; this test alone 78 -> 67 s).
  config = _tiny_config().replace(conditional=True, augment='', steps=2, checkpoint_every=2,
                                  freeze_d=2, r1_every=1, pl_every=1)
  run(config, tmp_path / 'source', **QUIET, parallel=one_device())
  generator = Generator(tmp_path / 'source')
  threes = generator.draw(jax.random.key(0), 4, labels=np.full(4, 3))
  sevens = generator.draw(jax.random.key(0), 4, labels=np.full(4, 7))
  assert threes.shape == (4, 8, 8, 1) and not np.allclose(threes, sevens)

  source = final_state(tmp_path / 'source')
  tuned_config = config.replace(seed=config.seed + 1)  # fresh weights differ from the source's
  run(tuned_config, tmp_path / 'tuned', **QUIET, parallel=one_device(),
      init_from=tmp_path / 'source')
  state = final_state(tmp_path / 'tuned')
  assert int(state.step) == 2
  fresh = start(generator.config.replace(seed=tuned_config.seed)).params['D']  # with its classes
  d0, d1 = source.params['D'], state.params['D']
  for layer in ('fromrgb', 'conv0'):  # frozen: the first two layers of b8, the source's
    np.testing.assert_array_equal(d1['b8'][layer]['weight'], d0['b8'][layer]['weight'])
    assert not np.allclose(fresh['b8'][layer]['weight'], d0['b8'][layer]['weight'])
  for block, layer in (('b8', 'conv1'), ('b8', 'skip'), ('b4', 'conv')):
    assert not np.allclose(d1[block][layer]['weight'], d0[block][layer]['weight'])
  assert not np.allclose(state.params['G']['synthesis']['b8']['conv1']['weight'],
                         source.params['G']['synthesis']['b8']['conv1']['weight'])
  for prefix in ('G', 'D'):
    np.savez(tmp_path / f'{prefix}.npz', **_state_dict(prefix))
  main_in_process(capsys, '--generator', str(tmp_path / 'G.npz'), '--out',
                  str(tmp_path / 'converted'), main=convert_command.main)
  code, _, err = main_in_process(capsys, *QUIET_FLAGS, '--config', 'stylegan2', '--workdir',
                                 str(tmp_path / 'other'), '--init-from',
                                 str(tmp_path / 'converted'), '--steps', '1')
  assert code == 2 and err.count('\n') == 1 and 'has shape' in err, err


@pytest.mark.slow
def test_style_mixing_grid_is_the_references_figure(tmp_path, capsys):
  """`--rows --cols --styles`: the reference's style_mixing.py figure. Cell (r, c) is the row
  seed's ws with the column seed's at the chosen layers, synthesized; all styles taken makes
  the column seed's own image; one style taken makes an image of neither."""
  from jaxgan import sample
  from runs import main_in_process
  g_dict = {k: v for k, v in _state_dict('G').items() if not k.startswith('mapping.embed')}
  g_dict['mapping.fc0.weight'] = g_dict['mapping.fc0.weight'][:, :16]  # unconditional
  np.savez(tmp_path / 'G.npz', **g_dict)
  main_in_process(capsys, '--generator', str(tmp_path / 'G.npz'), '--out', str(tmp_path / 'run'),
                  main=convert_command.main)
  grid = lambda styles: sample.style_mixing_grid(tmp_path / 'run', [1, 2], [3, 4, 5], styles)
  every, first = grid(list(range(6))), grid([0])  # 16x16: 6 styles
  cell = lambda mosaic, r, c: mosaic[16 * r:16 * (r + 1), 16 * c:16 * (c + 1)]
  for r in (1, 2):
    for c in (1, 2, 3):
      np.testing.assert_array_equal(cell(every, r, c), cell(every, 0, c))  # column seed's image
  assert not np.array_equal(cell(first, 1, 1), cell(first, 0, 1))
  assert not np.array_equal(cell(first, 1, 1), cell(first, 1, 0))
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--rows', '1,2',
                                 '--cols', '3', '--styles', '0-3', '--out',
                                 str(tmp_path / 'grid.png'), main=sample_command.main)
  assert code == 0 and (tmp_path / 'grid.png').exists(), err
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--rows', '1',
                                 '--cols', '3', '--styles', '0-20', '--out',
                                 str(tmp_path / 'grid.png'), main=sample_command.main)
  assert code == 2 and err.count('\n') == 1 and 'styles' in err


@pytest.mark.slow
def test_interpolation_walks_in_w_with_constant_noise(tmp_path, capsys):
  """`--interpolate K --frames F`: every F-th frame is a keyframe latent's image (as sampled with
  constant noise), and the frames between are synthesized from ws on the straight line between
  two keyframes' ws (not from interpolated latents); written as a .gif of K * F frames."""
  import imageio.v3 as iio

  from jaxgan import sample
  from jaxgan.sample import Generator
  from runs import main_in_process
  g_dict = {k: v for k, v in _state_dict('G').items() if not k.startswith('mapping.embed')}
  g_dict['mapping.fc0.weight'] = g_dict['mapping.fc0.weight'][:, :16]  # unconditional
  np.savez(tmp_path / 'G.npz', **g_dict)
  main_in_process(capsys, '--generator', str(tmp_path / 'G.npz'), '--out', str(tmp_path / 'run'),
                  main=convert_command.main)
  frames = sample.interpolation(tmp_path / 'run', keyframes=3, frames=4, seed=5)
  assert frames.shape == (12, 16, 16, 3)
  keyframes = sample.generate(tmp_path / 'run', 3, seed=5, noise_mode='const')
  np.testing.assert_allclose(frames[::4], keyframes, atol=1e-5)
  generator = Generator(tmp_path / 'run')
  network, _ = families.networks(generator.config)
  z = generator.game.inputs(jax.random.key(5), 3)['z']
  ws = jit_apply(network, method='map')(generator.variables, z)
  between = jit_apply(network, noise_mode='const', method='synthesize')(
      generator.variables, 0.75 * ws[2:] + 0.25 * ws[:1])  # the walk back to the first
  np.testing.assert_allclose(frames[9], (between[0] + 1) / 2, atol=1e-5)
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--interpolate',
                                 '3', '--frames', '4', '--out', str(tmp_path / 'walk.gif'),
                                 main=sample_command.main)
  assert code == 0, err
  assert iio.imread(tmp_path / 'walk.gif').shape[0] == 12
