"""Every bad value of every flag of every command, and of every config field through --set:
one line on stderr naming what is wrong, exit code 2, never a traceback, nothing written."""

import math
import typing

import numpy as np
import pytest
from PIL import Image

from jaxgan import config, configs
from jaxgan.commands import convert as convert_command
from jaxgan.commands import digits as digits_command
from jaxgan.commands import evaluate as evaluate_command
from jaxgan.commands import inception as inception_command
from jaxgan.commands import sample as sample_command
from jaxgan.commands import train as train_command
from jaxgan.commands import translate as translate_command
from runs import QUIET_FLAGS, TINY, main_in_process


def _refused(capsys, main, *argv) -> str:
  code, out, err = main_in_process(capsys, *argv, main=main)
  assert code == 2 and err.count('\n') == 1 and 'Traceback' not in err, (argv, code, err)
  return err


def _bad_values(field: str, kind) -> list[str]:
  """Values `field` must refuse: of another type, out of its range, not finite."""
  if kind is bool:
    return ['maybe', '2']
  if typing.get_origin(kind) is tuple:
    return ['a,b'] if field != 'classes' else []  # any names are classes
  if kind is str:
    return ['no-such-choice'] if field not in ('name', 'dataset') else []
  bad = ['abc']
  if kind is float:
    bad += ['nan', 'inf', '-inf']
  else:
    bad += ['1.5']
  name, allowed = config.field_ranges().get(field, ('positive', lambda value: value > 0))
  bad += [str(value) for value in (-1, 0, 1.5, 2, 3, 2 ** 31) if not allowed(value)
          and (kind is float or float(value).is_integer())][:2]
  return bad


# Every field: the shared ones and each family's section's.
KINDS = {**config.SHARED, **{field: kind for section in config.SECTIONS.values()
                             for field, kind in config.section_fields(section).items()}}
FIELDS = [(field, value) for field, kind in KINDS.items() for value in _bad_values(field, kind)]


@pytest.mark.parametrize('field, value', FIELDS)
def test_every_config_field_refuses_a_bad_value_in_one_line(capsys, field, value):
  """Through --set, on the preset of a family that reads the field (so that the refusal is the
  value's, not the family's)."""
  owners = config.field_owners().get(field, ('dcgan',))
  preset = {'dcgan': 'digits', 'mlp2d': 'mlp2d', 'stylegan2': 'stylegan2', 'pggan': 'pggan',
            'pix2pix': 'pix2pix', 'cyclegan': 'cyclegan', 'r3gan': 'r3gan_cifar10'}[owners[0]]
  preset = {'drift': 'wgan_gp'}.get(field, preset)
  err = _refused(capsys, train_command.main, '--config', preset, '--set', f'{field}={value}', '--summary')
  assert field in err, err


def test_the_table_covers_every_field_and_every_range():
  checked = {field for field, _ in FIELDS}
  free = {'name', 'dataset', 'classes'}  # any text: a name, a dataset spec, class names
  assert checked == set(KINDS) - free
  for field, value in FIELDS:
    kind = KINDS[field]
    if kind is float and value not in ('abc',):
      assert not math.isfinite(float(value)) or field in config.field_ranges()


def test_a_field_the_family_does_not_read_is_refused_naming_who_reads_it(capsys):
  for preset, flags, owner in (
      ('digits', ('--set', 'pool_size=3'), 'cyclegan'),
      ('digits', ('--direction', 'BtoA'), 'pix2pix'),
      ('stylegan2', ('--set', 'd_dropout=0.3'), 'dcgan'),
      ('wgan_gp', ('--set', 'label_noise=0.1'), 'the keras_bce loss'),
      ('digits', ('--set', 'drift=0.001'), 'the wasserstein loss')):
    err = _refused(capsys, train_command.main, '--config', preset, *flags, '--summary')
    assert f'a setting of {owner}' in err, err
  # A translation family draws no samples from latents to evaluate during the run.
  err = _refused(capsys, train_command.main, '--config', 'pix2pix', '--eval-every', '10',
                 '--summary')
  assert 'draws no samples from latents' in err, err


TRAIN_FLAGS = [
    (('--config', 'nope'), "unknown config 'nope'"),
    (('--direction', 'up'), 'invalid choice'),
    (('--data-workers', '-1'), 'must be 0 or more'),
    (('--data-workers', 'x'), 'expected an integer'),
    (('--steps-per-call', '0'), 'must be positive'),
    (('--steps', '0'), 'must be positive'),
    (('--steps', '1e3'), 'expected a positive integer'),
    (('--batch-size', '-8'), 'must be positive'),
    (('--seed', '-1'), 'must be 0 or more'),
    (('--seed', '4294967296'), 'seed must be in [0, 2**31)'),
    (('--checkpoint-every', '0'), 'must be positive'),
    (('--dtype', 'float16'), 'invalid choice'),
    (('--keep', '0'), 'must be positive'),
    (('--eval-every', '-5'), 'must be 0 or more'),
    (('--set', 'g_lr'), 'expected field=value'),
    (('--set', 'warp=9'), "unknown config field 'warp'"),
    (('--parallel', 'mpi'), 'invalid choice'),
    (('--devices', '0'), 'must be positive'),
    (('--devices', '99'), 'more devices than this process has'),
    (('--coordinator', 'nohost'), 'expected HOST:PORT'),
    (('--coordinator', 'host:99999'), 'expected HOST:PORT'),
    (('--num-processes', '0'), 'must be positive'),
    (('--process-id', '-1'), 'must be 0 or more'),
    (('--process-id', '3', '--num-processes', '2', '--coordinator', 'localhost:1'),
     '--process-id must be below --num-processes'),
    (('--bogus',), 'unrecognized arguments'),
]


@pytest.mark.parametrize('flags, message', TRAIN_FLAGS)
def test_train_flags_refuse_bad_values_in_one_line(tmp_path, capsys, flags, message):
  err = _refused(capsys, train_command.main, '--workdir', str(tmp_path / 'run'), *TINY, *flags)
  assert message in err, err
  assert not (tmp_path / 'run' / 'checkpoints').exists()


def test_batches_the_discriminators_groups_cannot_split_are_refused(tmp_path, capsys):
  """StyleGAN2's and PGGAN's minibatch standard deviation groups a device's samples: a batch
  (or a device's share of it) that is no multiple of the group is refused before it runs."""
  for flags, message in (
      (('--config', 'stylegan2', '--batch-size', '16', '--set', 'mbstd_group=5'),
       'not a multiple of mbstd_group 5'),
      (('--config', 'pggan', '--batch-size', '24', '--devices', '4'),
       'each of the 4 devices gets 6 samples')):
    err = _refused(capsys, train_command.main, '--workdir', str(tmp_path / 'run'), *QUIET_FLAGS, *flags)
    assert message in err, err


def test_train_paths_refuse_in_one_line(tmp_path, capsys):
  (tmp_path / 'a_file').write_text('')
  images = tmp_path / 'images'
  images.mkdir()
  (images / 'notes.txt').write_text('no images here')
  pictures = tmp_path / 'pictures'
  pictures.mkdir()
  for i in range(16):
    Image.fromarray(np.full((16, 16, 3), i, np.uint8)).save(pictures / f'{i}.png')
  for flags, message in (
      (('--workdir', str(tmp_path / 'a_file')), 'cannot write to workdir'),
      (('--dataset', str(tmp_path / 'missing')), 'missing'),
      (('--dataset', str(images)), 'no .jpg, .jpeg, .png or .webp files'),
      (('--dataset', str(tmp_path / 'a_file')), 'a_file'),
      (('--compile-cache', str(tmp_path / 'a_file' / 'x')), 'cannot write to --compile-cache'),
      (('--init-from', str(tmp_path / 'missing')), 'missing'),
      (('--dataset', str(pictures), '--eval-every', '10', '--inception',
        str(tmp_path / 'missing.npz')), 'missing.npz')):
    flags = ('--workdir', str(tmp_path / 'run'), *flags) if flags[0] != '--workdir' else flags
    err = _refused(capsys, train_command.main, *TINY, *flags, '--steps', '1')
    assert message in err, (flags, err)


@pytest.fixture(scope='module')
def npy_files(tmp_path_factory):
  folder = tmp_path_factory.mktemp('arrays')
  np.save(folder / 'images.npy', np.zeros((8, 8, 8, 3), np.uint8))
  np.save(folder / 'latents_3d.npy', np.zeros((2, 3, 4), np.float32))
  (folder / 'broken.npy').write_bytes(b'not an array')
  return folder


def _tool_flags(folder):
  """(main, argv, message) for the tools' flags, each bad where no run needs to be read."""
  missing = str(folder / 'missing')
  images = str(folder / 'images.npy')
  return [
      (sample_command.main, ('--workdir', missing, '--out', 'x.png'), 'no checkpoints'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--num', '0'),
       'must be positive'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--seed', '-3'),
       'must be 0 or more'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--step', 'x'),
       'expected an integer'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--truncation', 'nan'),
       'finite'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--noise', 'loud'),
       'invalid choice'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.jpg'), 'must end in .png'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--latents', missing),
       'cannot read --latents'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--latents',
                            str(folder / 'broken.npy')), 'cannot read --latents'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--latents',
                            str(folder / 'latents_3d.npy')), 'not (n, latent_dim)'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--rows', '1,a',
                            '--cols', '2'), 'comma-separated seeds'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--rows', '1',
                            '--cols', '2', '--styles', 'a-b'), '--styles'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.gif', '--interpolate', '0'),
       'must be positive'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--interpolate', '2',
                            '--frames', '0'), 'must be positive'),
      (sample_command.main, ('--workdir', missing, '--out', 'x.png', '--compile-cache',
                            str(folder / 'images.npy' / 'x')), 'cannot write'),
      (translate_command.main, ('--workdir', missing, '--input', missing, '--out', missing),
       'does not exist'),
      (translate_command.main, ('--workdir', missing, '--input', images, '--out', missing,
                               '--direction', 'up'), 'invalid choice'),
      (translate_command.main, ('--workdir', missing, '--input', images, '--out', missing,
                               '--seed', '-1'), 'must be 0 or more'),
      (translate_command.main, ('--workdir', missing, '--input', images, '--out', missing,
                               '--step', '-2'), 'must be 0 or more'),
      (evaluate_command.main, ('--real', missing + '.npy', '--fake', images), 'does not exist'),
      (evaluate_command.main, ('--real', images, '--fake', str(folder / 'broken.npy')),
       'not an .npy file'),
      (evaluate_command.main, ('--real', images, '--fake', images, '--metrics', 'fid,magic'),
       "unknown metric 'magic'"),
      (evaluate_command.main, ('--real', images, '--fake', images, '--features', 'clip'),
       'invalid choice'),
      (evaluate_command.main, ('--real', images, '--fake', images, '--num', '0'),
       'must be positive'),
      (evaluate_command.main, ('--real', images, '--fake', images, '--image-size', '-1'),
       'must be positive'),
      (evaluate_command.main, ('--real', images, '--fake', images, '--features', 'inception',
                              '--inception', missing), 'missing'),
      (evaluate_command.main, ('--real', images, '--fake', images, '--json',
                              str(folder / 'no' / 'r.json')), 'does not exist'),
      (digits_command.main, ('--samples', missing), 'nor an existing folder'),
      (digits_command.main, ('--samples', images, '--threshold', 'nan'), 'threshold'),
      (digits_command.main, ('--samples', images, '--threshold', '1.5'), 'threshold'),
      (convert_command.main, ('--generator', missing, '--out', str(folder / 'run')), 'missing'),
      (convert_command.main, ('--generator', str(folder / 'broken.npy'), '--out',
                      str(folder / 'run')), 'cannot read'),
      (convert_command.main, ('--generator', images, '--out', str(folder / 'run'), '--set', 'x=1'),
       "unknown config field 'x'"),
      (inception_command.main, (missing, str(folder / 'w.npz')), 'missing'),
  ]


def test_the_tools_refuse_bad_flags_in_one_line(npy_files, capsys):
  for main, argv, message in _tool_flags(npy_files):
    err = _refused(capsys, main, *argv)
    assert message in err, (argv, err)


def test_every_preset_is_listed_whole_in_the_help(capsys):
  code, out, _ = main_in_process(capsys, '--help')
  assert code == 0
  for name, preset in configs.PRESETS.items():
    summary = ' '.join(preset.__doc__.splitlines()[0].split())
    assert summary.endswith('.') and summary in ' '.join(out.split()), name
