"""pix2pix: the step is the reference's, paired data in its layouts, the run and its check."""

import json
import shutil

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from PIL import Image

from jaxgan import configs, data, families, optim, parallel
from jaxgan.evaluate import translation
from jaxgan.images import save_grid, to_uint8
from jaxgan.sample import Generator
from jaxgan.step import to_model_range
from jaxgan.train import GRID_STREAM
from jaxgan.commands import sample as sample_command
from jaxgan.commands import translate as translate_command
from runs import (assert_trees_close, dynamic_fields, main_in_process, resumes_exactly, start,
                  step_of)

TINY = configs.get('pix2pix').replace(ngf=4, ndf=4, d_layers=1, batch_size=4, steps=4,
                                      log_every=1, checkpoint_every=2, sample_every=2,
                                      sample_grid=2)


def _batch(config, seed=0):
  rng = np.random.default_rng(seed)
  shape = (config.batch_size, config.image_size, config.image_size, config.channels)
  return {'source': rng.integers(0, 256, shape, dtype=np.uint8),
          'image': rng.integers(0, 256, shape, dtype=np.uint8)}


def test_the_step_is_the_references_optimize_parameters_written_out():
  """pix2pix_model.py's optimize_parameters by hand: fake = G(A) once; D's Adam step on
  0.5 * (BCE(D(A, fake), 0) + BCE(D(A, B), 1)), two passes; G's Adam step on BCE(D'(A, fake), 1)
  + 100 |fake - B| through the updated D', G's forward pass taken again with the same dropout
  draw; every running statistic as torch leaves it (D's after its three passes)."""
  config = TINY
  game = families.game(config)
  state = start(config)
  batch = _batch(config)
  got, metrics = jax.jit(step_of(config))(state, batch)

  G, D = families.networks(config)

  @jax.jit
  def by_hand(state, batch):
    to_range = lambda x: x.astype(jnp.float32) / 127.5 - 1.0
    source, target = to_range(batch['source']), to_range(batch['image'])
    key = jax.random.split(jax.random.fold_in(state.key, state.step), 2)[0]  # named 'dropout'
    adam = optax.adam(optim.linear_decay_schedule(2e-4, config.steps), 0.5, 0.999, 1e-8)

    def translate(params):
      return G.apply({'params': params, **state.collections['G']}, source, train=True,
                     update_stats=True, mutable=['batch_stats'], rngs={'dropout': key})

    def judge(params, stats, images):
      return D.apply({'params': params, 'batch_stats': stats}, images, source, train=True,
                     update_stats=True, mutable=['batch_stats'])

    fake, g_stats = translate(state.params['G'])
    bce = lambda logits, label: optax.sigmoid_binary_cross_entropy(
        logits, jnp.full_like(logits, label)).mean()

    def d_loss(params):
      fake_logits, stats = judge(params, state.collections['D']['batch_stats'], fake)
      real_logits, stats = judge(params, stats['batch_stats'], target)
      return 0.5 * (bce(fake_logits, 0.0) + bce(real_logits, 1.0)), stats['batch_stats']

    d_grad, d_stats = jax.grad(d_loss, has_aux=True)(state.params['D'])
    d_updates, d_opt = adam.update(d_grad, state.opt_state['D'], state.params['D'])
    d_params = optax.apply_updates(state.params['D'], d_updates)

    def g_loss(params):
      fake, _ = translate(params)
      logits, stats = judge(d_params, d_stats, fake)
      return bce(logits, 1.0) + 100 * jnp.abs(fake - target).mean(), stats['batch_stats']

    g_grad, d_stats = jax.grad(g_loss, has_aux=True)(state.params['G'])
    g_updates, g_opt = adam.update(g_grad, state.opt_state['G'], state.params['G'])
    norm = lambda tree: jnp.sqrt(sum(jnp.sum(x ** 2) for x in jax.tree.leaves(tree)))
    return state.replace(
        step=state.step + 1, params={'G': optax.apply_updates(state.params['G'], g_updates),
                                     'D': d_params},
        opt_state={'G': g_opt, 'D': d_opt},
        collections={'G': dict(g_stats), 'D': {'batch_stats': d_stats}}), \
        {'grad_norm/G': norm(g_grad), 'grad_norm/D': norm(d_grad)}

  want, want_norms = by_hand(state, batch)
  assert_trees_close(dynamic_fields(got), dynamic_fields(want), rtol=1e-5)
  assert set(metrics) == {'d/loss', 'd/real_logit', 'd/fake_logit', 'd/real_accuracy',
                          'd/fake_accuracy', 'g/loss', 'g/adversarial', 'g/l1', 'grad_norm/G',
                          'grad_norm/D'}
  for name, value in want_norms.items():  # G's through the vjp of its one forward pass
    np.testing.assert_allclose(metrics[name], value, rtol=1e-5, err_msg=name)
  assert game.sampler == 'G' and game.inputs is None


def test_the_linear_decay_is_the_references_lambda_rule():
  """get_scheduler('linear') with n_epochs = n_epochs_decay (epoch_count 1), an update for an
  epoch: lr = 1 - max(0, epoch + 1 - n_epochs) / (n_epochs_decay + 1)."""
  schedule = optim.linear_decay_schedule(2e-4, 200)
  rule = lambda epoch: 1.0 - max(0, epoch + 1 - 100) / float(100 + 1)
  np.testing.assert_allclose([float(schedule(t)) for t in range(200)],
                             [2e-4 * rule(t) for t in range(200)], rtol=1e-6)


def test_n_devices_train_the_one_device_run_without_batch_statistics(mode='shard_map', count=4):
  """Without normalization and dropout (each device would normalize by its own rows and draw
  its own masks, as the reference's DataParallel does) N devices train the one-device run."""
  # Least squares: at initialisation the vanilla loss's gradient for D's last bias is a sum that
  # nearly cancels (sigmoid(logits) ~ 1/2 for fake and real alike), float32 noise Adam amplifies.
  config = TINY.replace(norm='none', g_dropout=False, batch_size=8, loss='least_squares')
  game = families.game(config)
  one = jax.jit(game.make_step())
  data_parallel = parallel.DataParallel(mode, parallel.select_devices(count))
  many = data_parallel.compile(game.make_step(axis_name=parallel.AXIS))
  state = game.init(jax.random.key(0))
  replicated = data_parallel.replicate(state)
  for seed in range(2):
    state, _ = one(state, _batch(config, seed))
    replicated, _ = many(replicated, data_parallel.shard_batch(_batch(config, seed)))
  assert_trees_close(dynamic_fields(data_parallel.local(replicated)), dynamic_fields(state),
                     rtol=2e-5)


@pytest.mark.slow
def test_a_run_resumes_exactly_checks_itself_and_translates_files(tmp_path, capsys):
  """Through train.run: stopped at step 2 and resumed equals the uninterrupted run, batch
  statistics and the learning-rate schedule included; the end writes translation_check.json.
  jaxgan.translate applies the model to files, each as the game's generate on it alone."""
  resumes_exactly(TINY, tmp_path, stop=2)
  whole = tmp_path / 'whole'
  check = json.loads((whole / 'translation_check.json').read_text())
  assert check['num_pairs'] == 450
  assert set(check) == {'l1', 'psnr', 'bicubic_l1', 'bicubic_psnr', 'num_pairs'}
  # The grid: the run's first pairs as source, translation and target side by side.
  generator = Generator(whole)
  game = generator.game
  grid = game.grid_inputs(jax.random.fold_in(jax.random.key(TINY.seed), GRID_STREAM),
                          data.EpochBatches(data.load_pairs('digits_x4', 32, 1).examples,
                                            TINY.batch_size, TINY.seed).batch(0))
  generate = jax.jit(game.generate)  # op by op, the network compiled hundreds of programs
  shown = np.asarray(game.show(grid, generate(generator.variables, grid)))
  assert shown.shape == (TINY.sample_grid ** 2, 32, 96, 1)
  save_grid(to_uint8(shown, game.value_range), tmp_path / 'want.png', columns=TINY.sample_grid)
  np.testing.assert_array_equal(np.asarray(Image.open(whole / 'samples' / 'final.png')),
                                np.asarray(Image.open(tmp_path / 'want.png')))

  sources = data.load_pairs('digits_x4:holdout', 32, 1).examples.batch(np.arange(2))['source']
  folder = tmp_path / 'inputs'
  (folder / 'sub').mkdir(parents=True)
  for i, image in enumerate(sources):
    Image.fromarray(image[..., 0]).save(folder / 'sub' / f'{i}.png')
  (folder / 'broken.png').write_bytes(b'not an image')  # first in the sorted listing
  code, out, err = main_in_process(capsys, '--workdir', str(whole), '--input', str(folder),
                                   '--out', str(tmp_path / 'out'), main=translate_command.main)
  assert code == 0 and 'wrote 2 images' in out and 'skipped 1 files' in err
  for i, image in enumerate(sources):
    want = generate(generator.variables, {
        'source': to_model_range(image[None], (-1.0, 1.0)),
        'dropout': jax.random.fold_in(jax.random.key(0), i + 1)})
    got = np.asarray(Image.open(tmp_path / 'out' / 'sub' / f'{i}.png'))
    np.testing.assert_array_equal(got, to_uint8(np.asarray(want), (-1.0, 1.0))[0, ..., 0])
  # Inputs whose names differ only by their suffix, with --keep-suffix: outputs apart.
  suffixes = tmp_path / 'suffixes'
  shutil.copytree(folder / 'sub', suffixes)
  Image.fromarray(sources[0, ..., 0]).save(suffixes / '0.webp', lossless=True)
  code, out, _ = main_in_process(capsys, '--workdir', str(whole), '--input', str(suffixes),
                                 '--out', str(tmp_path / 'kept'), '--keep-suffix',
                                 main=translate_command.main)
  assert code == 0 and 'wrote 3 images' in out
  assert sorted(p.name for p in (tmp_path / 'kept').iterdir()) == ['0.png.png', '0.webp.png',
                                                                   '1.png.png']
  np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / 'kept' / '0.png.png')),
                                np.asarray(Image.open(tmp_path / 'kept' / '0.webp.png')))
  for argv, main, says in (
      (['--input', str(tmp_path / 'missing')], translate_command.main, 'does not exist'),
      (['--input', str(folder), '--direction', 'BtoA'], translate_command.main, 'AtoB only'),
      (['--num', '4'], sample_command.main, 'use python -m jaxgan.translate')):
    code, _, err = main_in_process(capsys, '--workdir', str(whole), '--out',
                                   str(tmp_path / 'x.png'), *argv, main=main)
    assert code == 2 and says in err and len(err.strip().splitlines()) == 1, err


def test_digit_pairs_are_the_digit_and_its_quarter_size_copy():
  pairs = data.load_pairs('digits_x4', 32, 1).examples
  held_out = data.load_pairs('digits_x4:holdout', 32, 1).examples
  assert (len(pairs), len(held_out)) == (1347, 450)
  batch = pairs.batch(np.arange(3))
  low = data.downsampled(batch['image'], 8)
  np.testing.assert_array_equal(batch['source'], low.repeat(4, 1).repeat(4, 2))
  np.testing.assert_array_equal(batch['image'], data.load_dataset('digits', 32, 1)[
      data._digit_split()['train'][:3]])


def _pair_images(rng, size):
  return [rng.integers(0, 256, (size, size, 3), dtype=np.uint8) for _ in range(2)]


@pytest.mark.parametrize('layout', ['aligned', 'folders'])
@pytest.mark.parametrize('direction', ['AtoB', 'BtoA'])
def test_paired_folders_in_the_references_layouts(tmp_path, layout, direction):
  """An aligned image (A left, B right) or A/ and B/ with the same names give the same pairs;
  the direction says which side is the source."""
  rng = np.random.default_rng(0)
  folder = tmp_path / 'pairs'
  expected = []
  for i in range(3):
    a, b = _pair_images(rng, 16)
    expected.append((a, b))
    if layout == 'aligned':
      folder.mkdir(exist_ok=True)
      Image.fromarray(np.concatenate([a, b], axis=1)).save(folder / f'{i}.png')
    else:
      for side, image in (('A', a), ('B', b)):
        (folder / side).mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / side / f'{i}.png')
  pairs = data.load_pairs(str(folder), 16, 3, data_dir=tmp_path / 'cache',
                          direction=direction).examples
  batch = pairs.batch(np.arange(3))
  a_side, b_side = zip(*expected)
  sources, targets = (a_side, b_side) if direction == 'AtoB' else (b_side, a_side)
  np.testing.assert_array_equal(batch['source'], np.stack(sources))
  np.testing.assert_array_equal(batch['image'], np.stack(targets))


def test_unmatched_or_unpaired_data_is_one_line(tmp_path, capsys):
  folder = tmp_path / 'pairs'
  for side, names in (('A', ('1', '2')), ('B', ('1', '3'))):
    (folder / side).mkdir(parents=True)
    for name in names:
      Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / side / f'{name}.png')
  code, _, err = main_in_process(capsys, '--config', 'pix2pix', '--workdir',
                                 str(tmp_path / 'run'), '--dataset', str(folder),
                                 '--data-dir', str(tmp_path / 'cache'))
  assert code == 2 and len(err.strip().splitlines()) == 1
  assert "1 (2.png) only in A/, 1 (3.png) only in B/" in err
  code, _, err = main_in_process(capsys, '--config', 'pix2pix', '--workdir',
                                 str(tmp_path / 'run2'), '--dataset', 'digits')
  assert code == 2 and 'is not paired' in err


def test_the_256_preset_has_the_references_networks(capsys):
  code, out, _ = main_in_process(capsys, '--config', 'pix2pix_256', '--summary')
  assert code == 0
  assert out.count('Total params:') == 2
  assert 'Total params: 54,413,955' in out and 'Total params: 2,768,705' in out


def test_hflip_mirrors_source_and_target_together():
  images = np.arange(4 * 4 * 4, dtype=np.uint8).reshape(4, 4, 4, 1)
  examples = data.ArrayExamples({'source': images, 'image': images.copy()})
  batches = data.EpochBatches(examples, 4, seed=0, hflip=True)
  flipped = [batches.batch(step) for step in range(4)]
  for batch in flipped:
    np.testing.assert_array_equal(batch['source'], batch['image'])
  assert any((batch['image'] != images).any() for batch in flipped)


def test_the_check_scores_exact_outputs_perfectly_and_bicubic_as_its_own():
  rng = np.random.default_rng(0)
  targets = rng.integers(0, 256, (5, 16, 16, 1), dtype=np.uint8)
  low = targets[:, ::4, ::4]
  exact = translation.super_resolution_report(targets / 255.0, targets, low)
  assert exact['l1'] < 1e-7 and exact['psnr'] > 80
  upsampled = translation.bicubic(low, 16)
  own = translation.super_resolution_report(upsampled, targets, low)
  assert own['l1'] == own['bicubic_l1'] and own['psnr'] == own['bicubic_psnr']
  mse = np.square(upsampled[0] - targets[0] / 255.0).mean()
  np.testing.assert_allclose(translation.pair_errors(upsampled[:1], targets[:1] / 255.0)['psnr'],
                             10 * np.log10(1 / mse), rtol=1e-6)


def test_the_direction_flag_sets_the_source_side():
  from jaxgan.commands.train import build_config, make_parser
  parser = make_parser()
  assert build_config(parser.parse_args(['--config', 'pix2pix_256']), parser).direction == 'BtoA'
  config = build_config(parser.parse_args(['--config', 'pix2pix', '--direction', 'BtoA']), parser)
  assert config.direction == 'BtoA'
