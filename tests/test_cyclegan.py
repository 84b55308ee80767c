"""CycleGAN's presets, data and check (its game: tests/test_seams.py; networks:
tests/test_translation.py)."""

import json

import numpy as np
import pytest
from PIL import Image

from jaxgan import configs, data, families
from jaxgan.evaluate import translation
from jaxgan.images import to_uint8
from jaxgan.commands import translate as translate_command
from runs import main_in_process, resumes_exactly

TINY = configs.get('cyclegan').replace(resnet_blocks=1, ngf=4, ndf=4, d_layers=1, batch_size=4,
                                       pool_size=6, steps=4, log_every=1, checkpoint_every=2,
                                       sample_every=2, sample_grid=2)


@pytest.mark.slow
def test_a_run_resumes_exactly_with_its_pools_checks_itself_and_translates(tmp_path, capsys):
  """Through train.run, stopped at step 2 (the pools full) and resumed: the uninterrupted run,
  pools and learning-rate schedule included; the end writes cycle_check.json. jaxgan.translate
  runs either generator."""
  state = resumes_exactly(TINY, tmp_path, stop=2)
  assert {'pool_a', 'pool_b'} <= set(state.pieces)
  assert int(state.pieces['pool_a']['count']) == TINY.pool_size
  check = json.loads((tmp_path / 'whole' / 'cycle_check.json').read_text())
  assert set(check) == {'digit_accuracy', 'real_digit_accuracy', 'in_domain_b', 'in_domain_a',
                        'real_domain_accuracy', 'num_images'}
  assert check['num_images'] == 450 and check['real_domain_accuracy'] > 0.98
  _, bold, _ = data.digit_styles(32, 1, 'holdout')
  Image.fromarray(bold[0, ..., 0]).save(tmp_path / 'bold.png')
  generator, _ = families.networks(TINY)
  for direction, name in (('AtoB', 'G_ab'), ('BtoA', 'G_ba')):
    code, out, err = main_in_process(
        capsys, '--workdir', str(tmp_path / 'whole'), '--input', str(tmp_path / 'bold.png'),
        '--out', str(tmp_path / direction), '--direction', direction, main=translate_command.main)
    assert code == 0, err
    want = generator.apply(state.variables(name), bold[:1] / 127.5 - 1.0)
    np.testing.assert_array_equal(np.asarray(Image.open(tmp_path / direction / 'bold.png')),
                                  to_uint8(np.asarray(want), (-1.0, 1.0))[0, ..., 0])


def test_the_digits_in_two_styles_are_unpaired():
  a, b, labels = data.digit_styles(32, 1, 'holdout')
  assert a.shape == b.shape == (450, 32, 32, 1) and labels.shape == (450,)
  thick = np.max([np.pad(a, ((0, 0), (2, 2), (2, 2), (0, 0)))[:, i:i + 32, j:j + 32]
                  for i in range(5) for j in range(5)], axis=0)
  np.testing.assert_array_equal(b, thick)
  examples = data.load_unpaired('digits_styles', 32, 1).examples
  batch = examples.batch(np.arange(len(examples)))
  assert len(examples) == 1347
  # every plain and every bold digit once, not paired with its own digit
  plain, bold, _ = data.digit_styles(32, 1, 'train')
  np.testing.assert_array_equal(batch['source'], plain)
  assert sorted(map(bytes, batch['image'])) == sorted(map(bytes, bold))
  assert np.mean([(x == y).all() for x, y in zip(batch['image'], bold)]) < 0.01


def test_folders_in_cyclegans_layout_and_one_line_errors(tmp_path, capsys):
  root = tmp_path / 'horse2zebra'
  for side, count in (('trainA', 3), ('trainB', 5)):
    (root / side).mkdir(parents=True)
    for i in range(count):
      Image.fromarray(np.full((8, 8, 3), 40 * i, np.uint8)).save(root / side / f'{i}.png')
  examples = data.load_unpaired(str(root), 8, 3, data_dir=tmp_path / 'cache').examples
  assert len(examples) == 5
  batch = examples.batch(np.arange(5))
  assert sorted(batch['image'][:, 0, 0, 0]) == [0, 40, 80, 120, 160]  # each B image once
  np.testing.assert_array_equal(batch['source'][:, 0, 0, 0], [0, 40, 80, 0, 40])  # A cycles
  (root / 'trainB').rename(root / 'other')
  code, _, err = main_in_process(capsys, '--config', 'cyclegan', '--workdir',
                                 str(tmp_path / 'run'), '--dataset', str(root))
  assert code == 2 and 'needs subfolders trainA/ and trainB/' in err
  assert len(err.strip().splitlines()) == 1
  code, _, err = main_in_process(capsys, '--config', 'cyclegan', '--workdir',
                                 str(tmp_path / 'run'), '--dataset', 'digits_x4')
  assert code == 2 and 'is not two domains' in err


def test_the_256_preset_has_the_references_networks(capsys):
  code, out, _ = main_in_process(capsys, '--config', 'cyclegan_256', '--summary')
  assert code == 0
  assert 'Total params: 11,378,179' in out and 'Total params: 2,764,737' in out


def test_the_check_scores_real_images_as_real():
  """The held-out images themselves as translations: the digits read as well as the real ones,
  and (nearly) every image in its domain; swapped, (nearly) none."""
  a, b, labels = data.digit_styles(16, 1, 'holdout')
  train = data.digit_styles(16, 1, 'train')[:2]
  report = translation.cycle_report(b / 255.0, a / 255.0, labels, (a, b), train)
  assert report['digit_accuracy'] == report['real_digit_accuracy'] > 0.9
  assert min(report['in_domain_a'], report['in_domain_b']) > 0.98
  swapped = translation.cycle_report(a / 255.0, b / 255.0, labels, (a, b), train)
  assert max(swapped['in_domain_a'], swapped['in_domain_b']) < 0.02
