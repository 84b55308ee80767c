"""Evaluation during training (logged, resumed identically, the best checkpoint kept) and
the `jaxgan-evaluate` command."""

import json

import jax
import numpy as np
import pytest

from jaxgan import data, families
from jaxgan.evaluate import inception, metrics
from jaxgan.train import run

from runs import QUIET, TINY_DIGITS, final_state, main_in_process, one_device, run_tiny
from runs import TINY as TINY_FLAGS


@pytest.mark.slow
def test_evaluations_during_training_and_the_best_checkpoint(tmp_path):
  """Every eval_every steps the digits metrics of the EMA generator are logged (the same
  whether the run was stopped between evaluations or not) and the checkpoint of the lowest
  Frechet distance so far is kept in best/, restorable like any other."""
  from jaxgan.evaluate import digits, metrics
  config = TINY_DIGITS.replace(steps=6, eval_every=2, eval_samples=200, log_every=3)
  run_tiny(config, tmp_path / 'whole')
  run_tiny(config.replace(steps=3), tmp_path / 'parts')
  run_tiny(config, tmp_path / 'parts')
  logs = {name: [json.loads(line) for line in (tmp_path / name / 'metrics.jsonl').open()]
          for name in ('whole', 'parts')}
  scores = {name: [{k: v for k, v in r.items() if k.startswith('eval/') or k == 'step'}
                   for r in log if 'eval/fd_digits' in r] for name, log in logs.items()}
  evaluated = scores['whole']
  assert [r['step'] for r in evaluated] == [2, 4, 6]
  assert [r['step'] for r in logs['whole']] == [2, 3, 4, 6]  # evaluations are logged steps
  assert scores['parts'] == evaluated
  best = json.loads((tmp_path / 'whole' / 'best' / 'best.json').read_text())
  assert best['value'] == min(r['eval/fd_digits'] for r in evaluated)
  assert best['step'] == min(evaluated, key=lambda r: r['eval/fd_digits'])['step']
  # The logged figure is the evaluation of the best checkpoint's generator, recomputed here.
  state = final_state(tmp_path / 'whole' / 'best', None)
  assert int(state.step) == best['step']
  game = families.game(config)
  samples = game.generate(state.variables('G', ema=True),
                          game.inputs(jax.random.key(config.seed + 2), 200))
  real = digits.digit_features(digits.real_digits('train'))
  fake = digits.digit_features(np.asarray(samples))
  np.testing.assert_allclose(best['value'], metrics.frechet_distance(
      *metrics.statistics(real), *metrics.statistics(fake)), rtol=1e-4)


@pytest.mark.slow
def test_inception_evaluation_during_training_on_the_runs_own_data(tmp_path, capsys):
  """eval_features=inception: the FID of the EMA generator's samples against `eval_samples`
  images of the run's dataset, their features computed once into the workdir (a resumed run
  reads them back); the logged figure is recomputed here from the best checkpoint. Without the
  weights, train.py stops at once with one line."""
  from jaxgan.evaluate import inception, metrics, training
  weights = tmp_path / 'inception.npz'
  inception.save_weights(inception.random_params(0), weights)
  config = TINY_DIGITS.replace(steps=4, eval_every=2, eval_samples=4, eval_features='inception')
  run(config.replace(steps=2), tmp_path / 'run', **QUIET,
      parallel=one_device(), inception_weights=str(weights))
  cached = tmp_path / 'run' / training.REAL_FEATURES
  written = cached.stat().st_mtime_ns
  run(config, tmp_path / 'run', **QUIET, parallel=one_device(),
      inception_weights=str(weights))
  assert cached.stat().st_mtime_ns == written  # read back, not computed again
  logged = [json.loads(line) for line in (tmp_path / 'run' / 'metrics.jsonl').open()]
  assert [r['step'] for r in logged if 'eval/fid' in r] == [2, 4]
  best = json.loads((tmp_path / 'run' / 'best' / 'best.json').read_text())
  assert best['metric'] == 'eval/fid'
  state = final_state(tmp_path / 'run' / 'best', None)
  game = families.game(config)
  samples = np.asarray(game.generate(state.variables('G', ema=True),
                                     game.inputs(jax.random.key(config.seed + 2), 4)))
  params = inception.load_weights(weights)
  examples = data.load_examples('digits', 8, 1).examples
  indices = np.random.default_rng([config.seed, training.REAL_SEED_STREAM]).permutation(
      len(examples))[:4]
  real = inception.pool3_features(params, examples.batch(np.sort(indices))['image'] / 255.0)
  fake = inception.pool3_features(params, samples)
  np.testing.assert_allclose(best['value'], metrics.frechet_distance(
      *metrics.statistics(real), *metrics.statistics(fake)), rtol=1e-4)
  code, _, err = main_in_process(capsys, *TINY_FLAGS, '--workdir', str(tmp_path / 'nowhere'),
                                 '--set', 'eval_features=inception', '--eval-every', '2',
                                 '--inception', str(tmp_path / 'missing.npz'))
  assert code == 2 and err.count('\n') == 1 and 'pt_inception-2015-12-05' in err, err
  assert not (tmp_path / 'nowhere' / 'checkpoints').exists()


def test_a_damaged_real_features_file_is_computed_again(tmp_path):
  """The workdir's cached real features (`eval_real_features.npz`), cut short by a kill or a
  full disk, are computed again instead of ending the resumed run; whole, they are read back."""
  from jaxgan.evaluate import training
  config = TINY_DIGITS.replace(eval_samples=5)
  examples = data.load_examples('digits', 8, 1).examples
  flat = lambda images: images.reshape(len(images), -1)[:, :3]
  first = training._real_features(config, examples, flat, tmp_path)
  assert first.shape == (5, 3)
  never = lambda images: pytest.fail('computed again although cached')
  np.testing.assert_array_equal(training._real_features(config, examples, never, tmp_path), first)
  (tmp_path / training.REAL_FEATURES).write_bytes(b'PK\x03\x04 cut short')
  np.testing.assert_array_equal(training._real_features(config, examples, flat, tmp_path), first)
  assert sorted(path.name for path in tmp_path.iterdir()) == [training.REAL_FEATURES]


@pytest.mark.slow
def test_evaluate_command_with_inception_weights_from_a_file(tmp_path, capsys):
  import json

  from jaxgan.commands.evaluate import main

  from runs import main_in_process
  weights, params = tmp_path / 'inception.npz', inception.random_params(0)
  inception.save_weights(params, weights)
  rng = np.random.default_rng(0)
  for name in ('real', 'fake'):
    np.save(tmp_path / f'{name}.npy', rng.integers(0, 256, (10, 16, 16, 3), dtype=np.uint8))
  code, out, _ = main_in_process(capsys, '--real', str(tmp_path / 'real.npy'), '--fake',
                                 str(tmp_path / 'fake.npy'), '--features', 'inception',
                                 '--inception', str(weights), '--metrics', 'fid,pr,is',
                                 '--json', str(tmp_path / 'out.json'), main=main)
  assert code == 0 and 'fid' in out
  report = json.loads((tmp_path / 'out.json').read_text())
  network = jax.jit(inception.FIDInception().apply)
  real, fake = (np.asarray(network({'params': params}, np.load(tmp_path / f'{name}.npy') / 255.0))
                for name in ('real', 'fake'))
  np.testing.assert_allclose(report['fid'], metrics.frechet_distance(
      *metrics.statistics(real), *metrics.statistics(fake)), rtol=1e-5)
  assert report['is'] == metrics.inception_score(inception.classifier_logits(params, fake))[0]
  assert set(report) == {'fid', 'precision', 'recall', 'is', 'is_std', 'features', 'num_real',
                         'num_fake'}
  code, _, err = main_in_process(capsys, '--real', str(tmp_path / 'real.npy'), '--fake',
                                 str(tmp_path / 'fake.npy'), '--features', 'inception', main=main)
  assert code == 2 and err.count('\n') == 1 and 'pt_inception-2015-12-05-6726825d.pth' in err

