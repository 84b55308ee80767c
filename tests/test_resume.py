"""Checkpoints through the real train.py: resume is an exact continuation, whatever stops it."""

import json
import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import jax
import numpy as np
import pytest

from jaxgan import data
from jaxgan import train as loop
from jaxgan.checkpoint import SAVE_PAUSE_ANNOUNCEMENT, SAVE_PAUSE_VARIABLE
from jaxgan.config import Config
from jaxgan.parallel import AXIS
from jaxgan.commands import sample as sample_command

from runs import TINY as TINY_FLAGS
from runs import (TINY_DIGITS, assert_bitwise_equal, assert_trees_close, dynamic_fields,
                  final_state, main_in_process, one_device, real_size_environment, run_tiny,
                  step_of, train, train_command)


@pytest.mark.slow
def test_stop_and_resume_is_bitwise_the_uninterrupted_run(uninterrupted, tmp_path):
  assert train(tmp_path, '--steps', '12', '--checkpoint-every', '4').returncode == 0
  with (tmp_path / 'metrics.jsonl').open('a') as log:
    log.write('\x00\x00 not json\n[1, 2]\n')  # garbage whole lines, as a full disk leaves
    log.write('{"step": 13, "d/lo')  # a record cut short, as by a kill mid-write
  # Resumed with its batches built by Grain's worker processes: the same batches.
  result = train(tmp_path, '--steps', '24', '--checkpoint-every', '4', '--data-workers', '2')
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout.splitlines()[-1])['resumed_from'] == 12
  resumed, whole = final_state(tmp_path), final_state(uninterrupted)
  assert_bitwise_equal(resumed, whole)  # parameters, optimizer states, EMA, key, step
  records = [json.loads(line) for line in (tmp_path / 'metrics.jsonl').open()]
  assert [record['step'] for record in records] == [12, 24]  # log_every 50: each run's end
  assert not (tmp_path / 'curves.png').exists()  # --no-curves (tests/runs.py)
  # TensorBoard holds the same numbers (as float32), and the sample grids.
  from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
  events = EventAccumulator(str(tmp_path / 'tensorboard'), size_guidance={'images': 0})
  events.Reload()
  for name in records[0]:
    if name != 'step':
      np.testing.assert_allclose([e.value for e in events.Scalars(name)],
                                 [r[name] for r in records], rtol=1e-6, err_msg=name)
  assert [e.step for e in events.Images('samples')] == [12, 24]  # each run's final grid
  assert records[-1]['lr/G'] == 2e-4 and 0 <= records[-1]['d/real_accuracy'] <= 1
  # Only the last `keep` (3) checkpoints are kept.
  assert sorted(int(p.name) for p in (tmp_path / 'checkpoints').iterdir()) == [16, 20, 24]


@pytest.mark.slow
@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_step_saves_and_exits(tmp_path, capsys, signum):
  """The signal lets the step end, saves and exits with 128 + signum; while the run lasts, a
  second one on its workdir is one line naming the process that holds it."""
  process = subprocess.Popen(
      train_command(tmp_path, '--steps', '100000', '--checkpoint-every', '1000'),
      stderr=subprocess.PIPE, text=True)
  try:
    _wait_for(lambda: (tmp_path / 'samples' / 'epoch_001.png').exists(), process)
    if signum == signal.SIGTERM:  # meanwhile, a second run on the workdir is refused at once
      code, _, err = main_in_process(capsys, '--workdir', str(tmp_path), *TINY_FLAGS)
      assert code == 2 and err.count('\n') == 1 and f'in use by process {process.pid} on' in err
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
  finally:
    process.kill()  # when a check above failed: leave no training process behind
  assert process.returncode == 128 + signum
  assert f'stopped by {signal.Signals(signum).name} at step' in stderr
  stopped_at = int(stderr.split(' at step ')[1].split(';')[0])
  assert final_state(tmp_path).step == stopped_at > 0


def _records(workdir) -> list[dict]:
  path = workdir / 'metrics.jsonl'
  lines = path.read_text().splitlines() if path.exists() else []
  return [json.loads(line) for line in lines if line.endswith('}')]


@pytest.mark.slow
@pytest.mark.parametrize('steps, log_every, signal_after', [
    (30, 2, 2),  # near the start
    (20, 10, 10),  # in the middle
    (14, 10, 10)])  # near the end: fewer steps left than the logging interval
def test_a_signal_stops_the_run_within_a_call_whenever_it_comes(tmp_path, steps, log_every,
                                                                 signal_after):
  """SIGTERM right after step `signal_after` is logged: the run saves and exits 143 at most two
  steps later, however far the host could run ahead of the devices (nothing to fetch before
  the next log: the steps of a real-size digits model at batch 256 queue in milliseconds and
  take a second each). The step it names is the checkpoint's."""
  process = subprocess.Popen(train_command(
      tmp_path, '--steps', str(steps), '--batch-size', '256', '--set', f'log_every={log_every}',
      '--set', 'sample_every=100000', '--checkpoint-every', '100000', '--set',
      'g_widths=128,64', '--set', 'd_widths=64,128', '--set', 'g_dense_features=128'),
      stderr=subprocess.PIPE, text=True, env=real_size_environment())
  try:
    _wait_for(lambda: any(r['step'] == signal_after for r in _records(tmp_path)), process,
              poll=0.01)
    process.send_signal(signal.SIGTERM)
    _, stderr = process.communicate(timeout=120)
  finally:
    process.kill()
  assert process.returncode == 143, stderr
  stopped_at = int(stderr.split(' at step ')[1].split(';')[0])
  assert signal_after < stopped_at <= signal_after + 2 < steps, stderr
  assert final_state(tmp_path).step == stopped_at


@pytest.mark.parametrize('moment, signum', [('final samples', signal.SIGTERM),
                                             ('final check', signal.SIGINT)])
def test_a_signal_after_the_last_step_stops_the_run_there_and_it_finishes_later(
    tmp_path, capsys, monkeypatch, moment, signum):
  """Past the last step (its checkpoint written), a signal while the run draws its final sample
  grid or runs its end-of-run check stops it at once: exit 128 + signum, no digits_check.json.
  The same command again resumes at the end, trains nothing, draws and checks."""
  from jaxgan import families
  from jaxgan.families import registry
  save_grid, dcgan = registry.save_grid, families.get('dcgan')

  def signal_then(function):
    def signalled(*args, **kwargs):
      os.kill(os.getpid(), signum)
      return function(*args, **kwargs)
    return signalled
  if moment == 'final samples':
    monkeypatch.setattr(registry, 'save_grid', lambda images, path, **kwargs: (
        signal_then(save_grid) if path.name == 'final.png' else save_grid)(images, path, **kwargs))
  else:
    monkeypatch.setitem(families.REGISTRY, 'dcgan', dcgan._replace(check=lambda config, game: (
        lambda name, measure: (name, signal_then(measure)))(*dcgan.check(config, game))))
  flags = ['--workdir', str(tmp_path), *TINY_FLAGS, '--steps', '4']
  code, _, err = main_in_process(capsys, *flags)
  assert code == 128 + signum, err
  assert f'stopped by {signal.Signals(signum).name} at step 4' in err and err.count('\n') == 1
  assert final_state(tmp_path).step == 4 and not (tmp_path / 'digits_check.json').exists()
  monkeypatch.setattr(registry, 'save_grid', save_grid)
  monkeypatch.setitem(families.REGISTRY, 'dcgan', dcgan)
  code, out, _ = main_in_process(capsys, *flags)
  assert code == 0 and json.loads(out.splitlines()[-1])['resumed_from'] == 4
  assert (tmp_path / 'digits_check.json').exists() and (tmp_path / 'samples/final.png').exists()


@pytest.mark.slow
def test_kill_9_at_seven_moments_leaves_a_resumable_workdir(uninterrupted, tmp_path):
  """Killed (SIGKILL) seven times, started again after each, then finished, and bitwise the
  uninterrupted run: four times at moments spread over a step and its save (a checkpoint every
  step, the kill 0 to 0.2 s after a new checkpoint appeared), three times provably inside a save
  (paused after its files are written, before they are moved into place). Each kill costs a
  process start (about 8 s of the suite), so the spread moments are four, not more."""
  command = train_command(tmp_path, '--steps', '24', '--checkpoint-every', '1')
  for delay in (0.0, 0.02, 0.08, 0.2):
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    before = _latest(tmp_path)  # each time once training has started
    _wait_for(lambda: _latest(tmp_path) > before, process)
    time.sleep(delay)
    process.kill()
    assert process.wait() == -signal.SIGKILL  # the kill landed: training had not finished
  paused = {**os.environ, SAVE_PAUSE_VARIABLE: '120'}
  for _ in range(3):
    process = subprocess.Popen(command, stderr=subprocess.PIPE, text=True, env=paused)
    for line in process.stderr:  # the save announces itself while its files are not in place
      if SAVE_PAUSE_ANNOUNCEMENT in line:
        break
    in_progress = list((tmp_path / 'checkpoints').glob('*.orbax-checkpoint-tmp*'))
    complete = _latest(tmp_path)
    process.kill()
    assert process.wait() == -signal.SIGKILL
    assert in_progress and all(path.exists() for path in in_progress), 'no save in progress'
    assert _latest(tmp_path) == complete  # the interrupted save never became a checkpoint
  result = train(tmp_path, '--steps', '24', '--checkpoint-every', '1')
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout.splitlines()[-1])['resumed_from'] == complete
  assert_bitwise_equal(final_state(tmp_path), final_state(uninterrupted))


def test_divergence_stops_without_writing_a_checkpoint(tmp_path, capsys):
  """train.py's main in this process (the exit code and the line are its own)."""
  flags = ['--workdir', str(tmp_path), *TINY_FLAGS, '--devices', '1', '--checkpoint-every', '4']
  assert main_in_process(capsys, *flags, '--steps', '8')[0] == 0
  code, _, stderr = main_in_process(capsys, *flags, '--steps', '16',
                                    '--set', 'd_lr=1e30', '--set', 'g_lr=1e30')
  assert code == 1
  # Not finite from the first resumed step on (the generator's loss through the critic that
  # step moved by 1e30); found at the next checkpoint (12), named exactly.
  assert 'training diverged at step 9 (at step 12 not finite: ' in stderr, stderr
  assert 'd/loss' in stderr and 'g/loss' in stderr
  assert stderr.count('\n') == 1
  assert final_state(tmp_path).step == 8  # the last good checkpoint, intact


@pytest.mark.slow
def test_resuming_with_other_shapes_names_the_fields(uninterrupted, capsys):
  code, _, stderr = main_in_process(capsys, '--workdir', str(uninterrupted), *TINY_FLAGS,
                                    '--steps', '30', '--set', 'latent_dim=32',
                                    '--set', 'd_widths=8,16')
  assert code == 2
  assert stderr.count('\n') == 1
  assert 'different latent_dim, d_widths' in stderr and '--workdir' in stderr


def _truncate_data(checkpoint):
  """Cuts every data file of a checkpoint (its state's and its generator's) to half its size,
  as a disk or a copy that failed after the save leaves them."""
  files = [f for f in checkpoint.rglob('*') if f.is_file() and f.parent.name == 'd']
  assert {f.relative_to(checkpoint).parts[0] for f in files} == {'state', 'generator'}
  for file in files:
    file.write_bytes(file.read_bytes()[:file.stat().st_size // 2])


@pytest.mark.slow
def test_a_damaged_checkpoint_is_moved_aside_and_the_run_resumes_from_the_one_before(
    uninterrupted, tmp_path, capsys):
  """The latest checkpoint's data files truncated: one line naming its step, the checkpoint
  moved aside (not deleted), the run resumed from the one before and ending equal to the
  uninterrupted run. Sampling falls back the same way, without moving anything."""
  import shutil

  assert train(tmp_path, '--steps', '12', '--checkpoint-every', '4').returncode == 0
  _truncate_data(tmp_path / 'checkpoints' / '12')
  shutil.copytree(tmp_path, tmp_path.parent / 'copy')
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path.parent / 'copy'), '--out',
                                 str(tmp_path.parent / 'x.png'), '--num', '4', main=sample_command.main)
  assert code == 0 and err.count('\n') == 1 and 'step 12' in err and 'step 8' in err, err
  assert (tmp_path.parent / 'copy' / 'checkpoints' / '12').is_dir()  # sampling moves nothing
  result = train(tmp_path, '--steps', '24', '--checkpoint-every', '4')
  assert result.returncode == 0, result.stderr
  lines = [line for line in result.stderr.splitlines() if 'step 12' in line]
  assert len(lines) == 1 and 'cannot be read' in lines[0] and 'resumed from step 8' in lines[0]
  assert 'Traceback' not in result.stderr, result.stderr
  assert json.loads(result.stdout.splitlines()[-1])['resumed_from'] == 8
  assert_bitwise_equal(final_state(tmp_path), final_state(uninterrupted))
  assert (tmp_path / 'checkpoints_damaged' / '12' / 'state').is_dir()


@pytest.mark.slow
def test_no_readable_checkpoint_is_one_line_and_nothing_is_moved(uninterrupted, tmp_path,
                                                                 capsys):
  import shutil
  shutil.copytree(uninterrupted / 'checkpoints', tmp_path / 'checkpoints')
  steps = sorted(p.name for p in (tmp_path / 'checkpoints').iterdir())
  for step in steps:
    _truncate_data(tmp_path / 'checkpoints' / step)
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path), *TINY_FLAGS, '--steps', '30')
  assert code == 2 and err.count('\n') == 1 and 'can be read' in err, err
  assert all(f'step {step}' in err for step in steps)
  assert sorted(p.name for p in (tmp_path / 'checkpoints').iterdir()) == steps
  assert not (tmp_path / 'checkpoints_damaged').exists()


@pytest.mark.slow
@pytest.mark.parametrize('damage', ['data', 'array_metadatas'])
def test_no_readable_checkpoint_is_one_line_in_a_process_too(uninterrupted, tmp_path, damage):
  """As processes, train.py and jaxgan.sample say so in their one line and nothing after it:
  the other reads Orbax had in flight, failing or dropped at exit, report nothing (they did
  in screens of tracebacks for a checkpoint whose array metadata is damaged)."""
  import shutil
  import sys
  shutil.copytree(uninterrupted / 'checkpoints', tmp_path / 'checkpoints')
  for step in (tmp_path / 'checkpoints').iterdir():
    if damage == 'data':
      _truncate_data(step)
    for file in step.rglob('array_metadatas/*') if damage == 'array_metadatas' else ():
      file.write_text('not json')
  for command in ([*train_command(tmp_path, '--steps', '30')],
                  [sys.executable, '-m', 'jaxgan.sample', '--workdir', str(tmp_path), '--out',
                   str(tmp_path / 'x.png')]):
    result = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert result.returncode == 2 and result.stderr.count('\n') == 1, result.stderr[-3000:]
    assert 'can be read' in result.stderr


def _small_filesystem_available() -> bool:
  """Whether this machine lets a test mount a tmpfs of its own (a user and mount namespace)."""
  import shutil
  if shutil.which('unshare') is None:
    return False
  probe = subprocess.run(['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c',
                          'mount -t tmpfs -o size=64k tmpfs /tmp'], capture_output=True)
  return probe.returncode == 0


@pytest.mark.slow
@pytest.mark.skipif(not _small_filesystem_available(),
                    reason='needs unshare to mount a small tmpfs (user namespaces)')
def test_a_full_disk_ends_in_one_line_and_the_run_resumes_once_there_is_space(uninterrupted,
                                                                               tmp_path):
  """A run on a filesystem with room for one checkpoint and a half: the second save runs out
  of space (ENOSPC in TensorStore, surfacing through Orbax's asynchronous save), the run ends
  with one line naming the step and exit 1, and the checkpoint before it is intact. With space
  again (the same tmpfs, remounted larger) the same command resumes from it and ends equal to
  the uninterrupted run."""
  one_checkpoint = sum(f.stat().st_size for f in (uninterrupted / 'checkpoints' / '24').rglob('*')
                       if f.is_file())
  command = ' '.join(f"'{part}'" for part in train_command('$MNT/run', '--steps', '24',
                                                           '--checkpoint-every', '4'))
  command = command.replace("'$MNT/run'", '"$MNT/run"')
  script = f'''
    MNT={tmp_path}/mnt OUT={tmp_path}; mkdir -p $MNT
    mount -t tmpfs -o size={int(1.6 * one_checkpoint) // 1024}k tmpfs $MNT || exit 99
    {command} > $OUT/first.out 2> $OUT/first.err; echo $? > $OUT/first.rc
    ls $MNT/run/checkpoints > $OUT/first.ls
    mount -o remount,size=256m $MNT
    {command} > $OUT/second.out 2> $OUT/second.err; echo $? > $OUT/second.rc
    cp -r $MNT/run $OUT/run'''
  done = subprocess.run(['unshare', '--user', '--map-root-user', '--mount', 'sh', '-c', script],
                        capture_output=True, text=True, timeout=600)
  assert done.returncode == 0, done.stderr
  first_err = (tmp_path / 'first.err').read_text()
  assert (tmp_path / 'first.rc').read_text().strip() == '1', first_err
  assert first_err.count('\n') == 1 and 'no space left' in first_err, first_err
  assert 'step 8 could not be written' in first_err and 'step 4 is intact' in first_err
  assert (tmp_path / 'first.ls').read_text().split()[0] == '4'
  assert (tmp_path / 'second.rc').read_text().strip() == '0', (tmp_path / 'second.err').read_text()
  summary = json.loads((tmp_path / 'second.out').read_text().splitlines()[-1])
  assert summary['resumed_from'] == 4
  assert_bitwise_equal(final_state(tmp_path / 'run'), final_state(uninterrupted))


def _latest(workdir) -> int:
  directory = workdir / 'checkpoints'
  steps = [int(p.name) for p in directory.iterdir() if p.name.isdigit()] if directory.exists() else []
  return max(steps, default=0)


def _wait_for(condition, process, timeout=120, poll=0.05):
  deadline = time.monotonic() + timeout
  while not condition():
    assert process.poll() is None, 'training exited early'
    assert time.monotonic() < deadline, 'timed out'
    time.sleep(poll)


def _continue(state, config, steps):
  """`steps` more steps of `config`'s step from `state`, on the run's own batches and devices."""
  devices = one_device()
  step = devices.compile(step_of(config, axis_name=AXIS))
  dataset = data.load_examples(config.dataset, config.image_size, config.channels)
  batches = data.EpochBatches(dataset.examples, config.batch_size, config.seed, config.hflip)
  state = devices.replicate(jax.tree.map(lambda x: x.copy(), state))  # the step donates it
  for _, batch in zip(range(steps), batches.iterate(int(state.step))):
    state, _ = step(state, devices.shard_batch(batch))
  return devices.local(state)


@pytest.mark.slow
@pytest.mark.parametrize('first, then', [('float32', 'bfloat16'), ('bfloat16', 'float32')])
def test_a_checkpoint_resumes_under_the_other_dtype(tmp_path, first, then):
  run_tiny(TINY_DIGITS.replace(dtype=first), tmp_path)
  saved = final_state(tmp_path)
  assert run_tiny(TINY_DIGITS.replace(dtype=then, steps=4), tmp_path)['resumed_from'] == 2
  resumed = dynamic_fields(final_state(tmp_path))
  assert_trees_close(resumed, dynamic_fields(_continue(saved, TINY_DIGITS.replace(dtype=then), 2)), 1e-6)
  # The other dtype really computed those steps: the first dtype's steps end elsewhere.
  with pytest.raises(AssertionError, match='off by'):
    assert_trees_close(resumed, dynamic_fields(_continue(saved, TINY_DIGITS.replace(dtype=first), 2)),
                       1e-3)


@pytest.mark.slow
def test_a_conditional_run_stopped_and_resumed_is_bitwise_the_uninterrupted_one(tmp_path):
  """The loop in this process (the unconditional case runs train.py above): 4 steps, then a
  resumed run to 8, against 8 in one go; labels come from the data position like the images."""
  config = TINY_DIGITS.replace(conditional=True, spectral_norm=True, loss='hinge', d_dropout=0.0,
                        checkpoint_every=4, steps=8)
  run_tiny(config, tmp_path / 'whole')
  run_tiny(config.replace(steps=4), tmp_path / 'parts')
  assert run_tiny(config, tmp_path / 'parts')['resumed_from'] == 4
  assert_bitwise_equal(final_state(tmp_path / 'parts'), final_state(tmp_path / 'whole'))


@pytest.mark.slow
def test_a_checkpoint_of_another_version_is_one_line_naming_its_fields(uninterrupted, tmp_path,
                                                                        capsys):
  """A config with a field this version does not know (written by a newer jaxgan): sampling from
  it is one line naming the field, not a TypeError."""
  import shutil

  shutil.copytree(uninterrupted, tmp_path / 'run')
  for metadata in (tmp_path / 'run' / 'checkpoints').glob('*/config/metadata'):
    config = json.loads(metadata.read_text())
    metadata.write_text(json.dumps({**config, 'warp_drive': 9}))
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), '--out',
                                 str(tmp_path / 'x.png'), main=sample_command.main)
  assert code == 2 and err.count('\n') == 1 and 'warp_drive' in err, err
  assert 'another version of jaxgan' in err and 'cannot be read' not in err, err  # not damage
  # Resuming it: the same line, and the checkpoint is not taken for a damaged one.
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path / 'run'), *TINY_FLAGS,
                                 '--steps', '30')
  assert code == 2 and err.count('\n') == 1 and 'warp_drive' in err, err
  assert 'another version of jaxgan' in err and 'can be read' not in err, err
  assert not (tmp_path / 'run' / 'checkpoints_damaged').exists()


def test_stray_reports_of_a_damaged_checkpoints_other_reads_are_dropped():
  """When one read of a damaged checkpoint fails, its other reads still in flight fail later and
  asyncio logs each as 'Task exception was never retrieved': dropped (the run says it in one
  line). The same report of any other task still reaches the log."""
  import logging

  from jaxgan import checkpoint
  checkpoint._quiet_failed_io_reports()
  logger = logging.getLogger('asyncio')
  record = lambda coroutine: logger.makeRecord(
      'asyncio', logging.ERROR, __file__, 0, 'Task exception was never retrieved\nfuture: '
      f"<Task finished name='Task-106' coro=<{coroutine}() done> exception=ValueError("
      "'OUT_OF_RANGE: Error reading byte range')>", None, None)
  assert not logger.filter(record('async_deserialize'))
  assert logger.filter(record('some_other_task'))


def test_unfinished_reads_of_a_damaged_checkpoint_report_nothing_at_exit(monkeypatch):
  """Orbax's reads still pending when a restore failed are dropped unfinished (or fail after
  the event loop closed) and Python reports each as an unraisable exception at exit: dropped,
  while any other unraisable exception still reaches the hook before."""
  import sys
  import types

  from jaxgan import checkpoint
  seen = []
  monkeypatch.setattr(sys, 'unraisablehook', seen.append)
  checkpoint._silence_closed_event_loops()

  def unraisable(error, filename):
    namespace = {}
    exec(compile('async def read():\n  pass\n', filename, 'exec'), namespace)
    coroutine = namespace['read']()
    coroutine.close()
    return types.SimpleNamespace(exc_type=type(error), exc_value=error, exc_traceback=None,
                                 err_msg=None, object=coroutine)
  orbax_file = '/site-packages/orbax/checkpoint/_src/serialization/serialization.py'
  for report in (unraisable(Exception('Encountered error while reading array index'),
                            orbax_file),
                 unraisable(RuntimeError('Event loop is closed'), '/elsewhere.py')):
    sys.unraisablehook(report)
  assert seen == []
  other = unraisable(ValueError('a bug of its own'), '/my/code.py')
  sys.unraisablehook(other)
  assert seen == [other]


def test_a_workdir_of_the_previous_version_resumes(tmp_path):
  """A workdir written before the families became plug-ins (tests/fixtures/workdir_07f28b7: a
  flat config of every family's fields, the loss by its former name, stopped after step 2) is
  read by today's code, and resumes to the end. Its two steps are today's: the same losses, and
  each network's weights and EMA the same as a whole, to float rounding (it was written with
  XLA's default flags, these tests compile with others: a leaf of near-zero values, whose Adam
  steps take the sign of near-zero gradients, may differ more)."""
  old = tmp_path / 'old'
  shutil.copytree(Path(__file__).parent / 'fixtures' / 'workdir_07f28b7', old)
  config = Config.from_dict(json.loads((old / 'config.json').read_text()))
  assert config.loss == 'keras_bce' and config.steps == 4
  loop.run(config, tmp_path / 'today', progress=False, curves=False, until=2,
           parallel=one_device())
  logged = [[json.loads(line) for line in (workdir / 'metrics.jsonl').open()]
            for workdir in (old, tmp_path / 'today')]
  for name in ('d/loss', 'g/loss', 'd/real_logit', 'd/fake_logit'):
    np.testing.assert_allclose(*([record[name] for record in run] for run in logged), rtol=1e-4)
  written, today = final_state(old), final_state(tmp_path / 'today')
  for part in ('params', 'ema'):
    for network in getattr(today, part):
      flat = [np.concatenate([np.ravel(leaf) for leaf in jax.tree.leaves(getattr(state, part)[
          network])]) for state in (written, today)]
      assert np.linalg.norm(flat[0] - flat[1]) <= 1e-5 * np.linalg.norm(flat[1]), (part, network)
  assert loop.run(config, old, progress=False, curves=False,
                  parallel=one_device())['resumed_from'] == 2
  assert final_state(old).step == 4
  assert [json.loads(line)['step'] for line in (old / 'metrics.jsonl').open()] == [1, 2, 3, 4]
  assert Config.from_dict(json.loads((old / 'config.json').read_text())) == config
  assert set(json.loads((old / 'config.json').read_text())) == set(config.to_dict())  # today's
