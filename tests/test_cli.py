"""train.py as a user runs it: the workdir contract, and one clear line for every bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from runs import main_in_process, real_size_environment

ROOT = Path(__file__).resolve().parents[1]


def _train(*args, cwd=ROOT, env=None):
  return subprocess.run([sys.executable, str(ROOT / 'train.py'), *args], cwd=cwd,
                        capture_output=True, text=True, timeout=600, env=env)


# train.py with the process's peak resident memory reported at its exit, on stderr.
PEAK_AT_EXIT = ('import atexit, resource, runpy, sys; atexit.register(lambda: print("peak_kb", '
                'resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr)); '
                'sys.argv = sys.argv[1:]; runpy.run_path(sys.argv[0], run_name="__main__")')


@pytest.mark.slow
def test_a_runs_end_stays_in_the_memory_of_its_steps(tmp_path):
  """dcgan64 at batch 8: its end-of-run check draws 1,000 64x64 samples, and the sample grid
  64, a training batch at a time, so the process's peak (at its exit) stays within 1.5x of the
  peak while it trained (logged at the last step, `memory/peak_mb`). In one batch the check
  took 23.9 GB here, where the training took 1.2."""
  result = subprocess.run(
      [sys.executable, '-c', PEAK_AT_EXIT, str(ROOT / 'train.py'), '--config', 'dcgan64',
       '--batch-size', '8', '--steps', '2', '--set', 'log_every=2', '--set', 'eval_every=0',
       '--workdir', str(tmp_path), '--no-progress', '--no-curves'],
      capture_output=True, text=True, timeout=600, env=real_size_environment())
  assert result.returncode == 0, result.stderr
  assert json.loads((tmp_path / 'digits_check.json').read_text())['num_samples'] == 1000
  training_mb = json.loads((tmp_path / 'metrics.jsonl').read_text().splitlines()[-1])[
      'memory/peak_mb']
  at_exit_mb = int(result.stderr.split('peak_kb ')[-1].split()[0]) / 1024
  assert at_exit_mb < 1.5 * training_mb, (at_exit_mb, training_mb)


@pytest.mark.slow
def test_default_recipe_trains_digits_and_writes_the_workdir(tmp_path):
  """A reduced default run: 250 steps of the default preset already yield classifiable digits."""
  result = _train('--workdir', str(tmp_path), '--steps', '250', '--no-progress',
                  env=real_size_environment())
  assert result.returncode == 0, result.stderr
  config = json.loads((tmp_path / 'config.json').read_text())
  assert config['name'] == 'digits' and config['steps'] == 250
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').read_text().splitlines()]
  assert [r['step'] for r in records] == [50, 100, 150, 200, 250]
  assert {'step', 'd/loss', 'g/loss', 'img_per_s', 'memory/peak_mb'} <= set(records[-1])
  assert (tmp_path / 'curves.png').exists()
  samples = sorted(p.name for p in (tmp_path / 'samples').iterdir())
  assert samples == ['epoch_001.png', 'epoch_002.png', 'epoch_003.png', 'epoch_004.png',
                     'epoch_005.png', 'epoch_006.png', 'epoch_007.png', 'epoch_008.png',
                     'final.png']
  check = json.loads((tmp_path / 'digits_check.json').read_text())
  assert sum(check['class_histogram']) == 1000
  # Held-out real digits score 0.89. A collapsed generator can score high on one class (blobs
  # after 30 steps: 1.0, all "9"), so the classes must be spread too.
  assert check['confident_fraction'] >= 0.3, check
  assert sum(count >= 20 for count in check['class_histogram']) >= 8, check
  assert json.loads(result.stdout.splitlines()[-1])['digits_check'] == check


def test_summary_prints_the_keras_example_parameter_counts(capsys):
  code, stdout, stderr = main_in_process(capsys, '--config', 'dcgan64', '--summary')
  assert code == 0, stderr
  assert 'Total params: 3,979,651' in stdout
  assert 'Total params: 404,801' in stdout


BAD_INPUT = [
    (['--config', 'nope'], "unknown config 'nope'"),
    (['--frobnicate'], 'unrecognized arguments: --frobnicate'),
    (['--steps', '0'], 'must be positive, got 0'),
    (['--steps', 'many'], "expected a positive integer, got 'many'"),
    (['--batch-size', '-4'], 'must be positive, got -4'),
    (['--set', 'g_lrr=1'], "unknown config field 'g_lrr'"),
    (['--set', 'g_lr=fast'], "g_lr: cannot read 'fast' as float"),
    (['--set', 'g_widths=64'], 'generator makes 8x8 images'),
    (['--dtype', 'float16'], "argument --dtype: invalid choice: 'float16'"),
    (['--set', 'dtype=float16'], "dtype must be one of float32, bfloat16, got 'float16'"),
    (['--dataset', 'nope'], "dataset 'nope' is neither an embedded dataset"),
    (['--dataset', 'tfds:mnist', '--data-dir', '{tmp}'], "TFDS dataset 'mnist' (split 'train') "
                                                          "is not prepared as array_record"),
    (['--dataset', '{tmp}'], 'no .jpg, .jpeg, .png or .webp files'),
    (['--dataset', 'grid25'], 'arch dcgan cannot train on dataset'),
    (['--config', 'mlp2d', '--dataset', 'digits'], 'arch mlp2d cannot train on dataset'),
    (['--set', 'augment=color,blur'], "unknown augmentation 'blur'"),
    (['--config', 'conditional', '--dataset', '{flat}'], 'labels need one subfolder per class'),
    (['--config', 'conditional', '--dataset', '{flat}', '--summary'],
     'labels need one subfolder per class'),
    (['--config', 'mlp2d', '--set', 'conditional=true'], 'conditional is a setting of dcgan'),
]


@pytest.mark.parametrize('args,message', BAD_INPUT)
def test_bad_input_gets_one_line_and_exit_2(tmp_path, capsys, args, message):
  """In this process (`jaxgan.commands.train.main`, the code train.py runs); the next test runs two of
  these as real processes, where a traceback would show."""
  args = [arg.replace('{tmp}', str(tmp_path / 'empty')).replace('{flat}', str(tmp_path / 'flat'))
          for arg in args]
  (tmp_path / 'empty').mkdir()
  (tmp_path / 'flat').mkdir()  # images, but no class subfolders
  Image.new('L', (8, 8)).save(tmp_path / 'flat' / 'a.png')
  code, _, stderr = main_in_process(capsys, '--data-dir', str(tmp_path / 'cache'), '--workdir',
                                    str(tmp_path / 'run'), '--steps', '1', '--no-progress', *args)
  assert code == 2
  assert stderr.count('\n') == 1 and message in stderr, stderr


@pytest.mark.slow
@pytest.mark.parametrize('args,message', [BAD_INPUT[1], BAD_INPUT[12]])
def test_bad_input_in_a_real_process_is_one_line_without_traceback(tmp_path, args, message):
  args = [arg.replace('{tmp}', str(tmp_path / 'empty')) for arg in args]
  (tmp_path / 'empty').mkdir()
  result = _train('--workdir', str(tmp_path / 'run'), '--steps', '1', *args)
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1 and message in result.stderr, result.stderr
  assert 'Traceback' not in result.stderr


@pytest.mark.slow
def test_unwritable_workdir(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('')
  result = _train('--workdir', str(blocker / 'run'))
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1 and 'cannot write to workdir' in result.stderr
  if os.geteuid() != 0:  # root writes anywhere; a read-only directory only stops others
    readonly = tmp_path / 'readonly'
    readonly.mkdir(mode=0o500)
    assert _train('--workdir', str(readonly / 'run')).returncode == 2


def test_a_full_disk_called_from_code_returns_and_the_caller_lives_on(tmp_path, capsys,
                                                                      monkeypatch):
  """As a command a full disk ends the process at once (`test_resume.py` runs one on a
  tiny tmpfs); `main(argv)` called from code (a notebook, a script) returns 1 after the same
  one line, and the caller's process goes on."""
  from jaxgan import train
  from jaxgan.checkpoint import DiskFull

  def full(*args, **kwargs):
    raise DiskFull('no space left on device: step 8 could not be written; step 4 is intact')

  monkeypatch.setattr(train, 'run', full)
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--steps', '1')
  assert code == 1 and err.count('\n') == 1 and 'step 4 is intact' in err, err


COMMANDS = {'jaxgan-train': 'jaxgan.commands.train:main',
            'jaxgan-sample': 'jaxgan.commands.sample:main',
            'jaxgan-evaluate': 'jaxgan.commands.evaluate:main',
            'jaxgan-translate': 'jaxgan.commands.translate:main',
            'jaxgan-convert': 'jaxgan.commands.convert:main'}


@pytest.mark.slow
def test_a_second_run_loads_its_programs_from_the_compile_cache(tmp_path):
  """With no cache set up, train.py keeps the programs it compiles under
  ~/.cache/jaxgan/xla, and a second run of the same config loads its step from there; with
  `--compile-cache none` it keeps nothing; a cache it cannot write is one line and exit 2."""
  home = tmp_path / 'home'
  environment = {name: value for name, value in os.environ.items()
                 if name != 'JAX_COMPILATION_CACHE_DIR'}  # the tests' own cache (conftest.py)
  # JAX names each persistent cache hit at warning level when it logs compilations.
  environment.update(HOME=str(home), JAX_LOG_COMPILES='1')
  cache = home / '.cache' / 'jaxgan' / 'xla'
  hit = "Persistent compilation cache hit for 'jit_train_step'"

  def run(name, *flags):  # the 2-D preset: its programs compile in a third of the digits' time
    result = _train('--workdir', str(tmp_path / name), '--config', 'mlp2d', '--steps', '1',
                    '--no-progress', '--no-curves', *flags, env=environment)
    assert result.returncode == 0, result.stderr
    return result.stderr

  assert hit not in run('without', '--compile-cache', 'none') and not cache.exists()
  assert hit not in run('first')
  assert len(list(cache.glob('jit_train_step-*-cache'))) == 1
  assert hit in run('second')
  blocker = tmp_path / 'file'
  blocker.write_text('')
  result = _train('--workdir', str(tmp_path / 'run'), '--compile-cache', str(blocker / 'xla'))
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1 and 'cannot write to --compile-cache' in result.stderr


def test_pip_installs_the_commands():
  from importlib import metadata
  scripts = {entry.name: entry.value for entry in metadata.entry_points(group='console_scripts')
             if entry.name.startswith('jaxgan-')}
  if not scripts:
    pytest.skip('jaxgan is not installed (pip install -e .)')
  assert scripts == COMMANDS


@pytest.mark.parametrize('command', list(COMMANDS))
def test_each_command_names_itself_and_lists_its_flags(command, capsys, monkeypatch):
  """Run as an installed command, each --help is under its own name (jaxgan-train's lists
  every flag of train.py), as are its one-line errors."""
  import importlib
  from jaxgan.commands.train import make_parser
  module, _, function = COMMANDS[command].partition(':')
  main = getattr(importlib.import_module(module), function)
  monkeypatch.setattr(sys, 'argv', [f'/venv/bin/{command}'])
  code, out, _ = main_in_process(capsys, '--help', main=main)
  assert code == 0 and out.startswith(f'usage: {command} ')
  if command == 'jaxgan-train':
    flags = [option for action in make_parser()._actions for option in action.option_strings]
    assert flags and all(flag in out for flag in flags)
  code, _, err = main_in_process(capsys, '--no-such-flag', main=main)
  assert code == 2 and err.startswith(f'{command}: error:')


def test_the_progress_bar_shows_the_stage_p_and_the_latest_evaluation():
  from jaxgan.train import progress_fields
  base = {'d/loss': 0.5, 'g/loss': 1.25, 'img_per_s': 300.4}
  assert progress_fields(base, 0, None) == {'d/loss': '0.500', 'g/loss': '1.250', 'img/s': '300'}
  fields = progress_fields({**base, 'progress/alpha': 0.25, 'augment/p': 0.0123}, 2,
                           ('eval/fd_digits', 12.5))
  assert (fields['stage'], fields['p'], fields['fd_digits']) == ('2 (alpha 0.25)', '0.012',
                                                                 '12.50')


def test_a_workdir_inside_the_dataset_folder_is_refused(tmp_path, capsys):
  """Its sample grids would be read back as training images the next time the folder is read."""
  folder = tmp_path / 'faces'
  folder.mkdir()
  for i in range(20):
    Image.new('RGB', (16, 16), (i, i, i)).save(folder / f'{i}.png')
  for workdir in (folder / 'run', folder):
    code, _, err = main_in_process(capsys, '--dataset', str(folder), '--workdir', str(workdir),
                                   '--steps', '1')
    assert code == 2 and err.count('\n') == 1 and 'inside the dataset folder' in err, err
  assert sorted(p.name for p in folder.iterdir()) == sorted(f'{i}.png' for i in range(20))


def test_pix2pix_refuses_cyclegans_unpaired_layout(tmp_path, capsys):
  for side in ('trainA', 'trainB'):
    (tmp_path / 'horses' / side).mkdir(parents=True)
    for i in range(4):
      Image.new('RGB', (32, 32), (i, 0, 0)).save(tmp_path / 'horses' / side / f'{i}.png')
  code, _, err = main_in_process(capsys, '--config', 'pix2pix', '--dataset',
                                 str(tmp_path / 'horses'), '--workdir', str(tmp_path / 'run'),
                                 '--steps', '1')
  assert code == 2 and err.count('\n') == 1 and "CycleGAN's layout" in err, err


@pytest.mark.slow
def test_init_from_is_refused_where_it_would_be_ignored(tmp_path, capsys):
  """--init-from starts a new run: the same command again resumes it, but a workdir that holds
  another run (or one started from other weights) is one line, not a silent resume."""
  from runs import TINY
  run = lambda workdir, *flags: main_in_process(capsys, '--workdir', str(tmp_path / workdir),
                                                *TINY, *flags)
  assert run('source', '--steps', '2')[0] == 0
  assert run('other', '--steps', '2')[0] == 0
  assert run('tuned', '--steps', '2', '--init-from', str(tmp_path / 'source'))[0] == 0
  code, out, _ = run('tuned', '--steps', '4', '--init-from', str(tmp_path / 'source'))
  assert code == 0 and json.loads(out.splitlines()[-1])['resumed_from'] == 2
  for workdir, source, says in (('tuned', 'other', 'started from'),
                                ('other', 'source', 'not started from weights')):
    code, _, err = run(workdir, '--steps', '6', '--init-from', str(tmp_path / source))
    assert code == 2 and err.count('\n') == 1 and says in err and 'new --workdir' in err, err
