"""Checkpoints through the real train.py: resume is an exact continuation, whatever stops it."""

import json
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import pytest

from jaxgan.sample import generate
from runs import final_state, train, train_command

def _assert_bitwise_equal(a, b):
  assert int(a.step) == int(b.step)
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x, y = jax.random.key_data(x), jax.random.key_data(y)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


@pytest.fixture(scope='module')
def uninterrupted(tmp_path_factory):
  """24 steps in one go: the run every interrupted run must end equal to."""
  workdir = tmp_path_factory.mktemp('uninterrupted')
  result = train(workdir, '--steps', '24', '--checkpoint-every', '4')
  assert result.returncode == 0, result.stderr
  return workdir


def test_stop_and_resume_is_bitwise_the_uninterrupted_run(uninterrupted, tmp_path):
  assert train(tmp_path, '--steps', '12', '--checkpoint-every', '4').returncode == 0
  with (tmp_path / 'metrics.jsonl').open('a') as log:
    log.write('{"step": 13, "d/lo')  # a record cut short, as by a kill mid-write
  result = train(tmp_path, '--steps', '24', '--checkpoint-every', '4')
  assert result.returncode == 0, result.stderr
  assert json.loads(result.stdout.splitlines()[-1])['resumed_from'] == 12
  resumed, whole = final_state(tmp_path), final_state(uninterrupted)
  _assert_bitwise_equal(resumed, whole)  # parameters, optimizer states, EMA, key, step
  steps = [json.loads(line)['step'] for line in (tmp_path / 'metrics.jsonl').open()]
  assert steps == [12, 24]  # log_every 50: only the end of each run is logged
  # Only the last `keep` (3) checkpoints are kept.
  assert sorted(int(p.name) for p in (tmp_path / 'checkpoints').iterdir()) == [16, 20, 24]


@pytest.mark.parametrize('signum', [signal.SIGINT, signal.SIGTERM])
def test_signal_finishes_the_step_saves_and_exits(tmp_path, signum):
  process = subprocess.Popen(
      train_command(tmp_path, '--steps', '100000', '--checkpoint-every', '1000'),
      stderr=subprocess.PIPE, text=True)
  _wait_for(lambda: (tmp_path / 'samples' / 'epoch_001.png').exists(), process)
  process.send_signal(signum)
  _, stderr = process.communicate(timeout=60)
  assert process.returncode == 128 + signum
  assert f'stopped by {signal.Signals(signum).name} at step' in stderr
  stopped_at = int(stderr.split(' at step ')[1].split(';')[0])
  assert final_state(tmp_path).step == stopped_at > 0


def test_kill_9_at_any_moment_leaves_a_resumable_workdir(uninterrupted, tmp_path):
  """Killed (SIGKILL) mid-run, often mid-save (a save every step), three times; then finished."""
  command = train_command(tmp_path, '--steps', '24', '--checkpoint-every', '1')
  for delay in (0.3, 1.1, 2.3):
    process = subprocess.Popen(command, stderr=subprocess.DEVNULL)
    # Each time once training has started (a checkpoint newer than before exists).
    before = _latest(tmp_path)
    _wait_for(lambda: _latest(tmp_path) > before, process)
    time.sleep(delay)
    process.kill()
    process.wait()
  result = train(tmp_path, '--steps', '24', '--checkpoint-every', '1')
  assert result.returncode == 0, result.stderr
  _assert_bitwise_equal(final_state(tmp_path), final_state(uninterrupted))


def test_divergence_stops_without_writing_a_checkpoint(uninterrupted, tmp_path):
  assert train(tmp_path, '--steps', '8', '--checkpoint-every', '4').returncode == 0
  result = train(tmp_path, '--steps', '16', '--checkpoint-every', '4',
                  '--set', 'label_noise=nan')
  assert result.returncode == 1
  assert 'training diverged at step 12, not finite: ' in result.stderr
  assert 'd/loss' in result.stderr and 'g/loss' in result.stderr
  assert result.stderr.count('\n') == 1
  assert final_state(tmp_path).step == 8  # the last good checkpoint, intact


def test_resuming_with_other_shapes_names_the_fields(uninterrupted):
  result = train(uninterrupted, '--steps', '30', '--set', 'latent_dim=32',
                  '--set', 'd_widths=8,16')
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1
  assert 'different latent_dim, d_widths' in result.stderr and '--workdir' in result.stderr


def test_sample_loads_the_generator_and_is_seeded(uninterrupted, tmp_path):
  first = generate(uninterrupted, 6, seed=3)
  assert first.shape == (6, 16, 16, 1)
  np.testing.assert_array_equal(first, generate(uninterrupted, 6, seed=3))
  assert not np.array_equal(first, generate(uninterrupted, 6, seed=4))
  out = tmp_path / 'grid.png'
  result = subprocess.run([sys.executable, '-m', 'jaxgan.sample', '--workdir', str(uninterrupted),
                           '--num', '9', '--out', str(out)], capture_output=True, text=True)
  assert result.returncode == 0, result.stderr
  assert out.stat().st_size > 0
  missing = subprocess.run([sys.executable, '-m', 'jaxgan.sample', '--workdir',
                            str(tmp_path / 'none'), '--out', str(out)], capture_output=True,
                           text=True)
  assert missing.returncode == 2 and missing.stderr.count('\n') == 1


def _latest(workdir) -> int:
  directory = workdir / 'checkpoints'
  steps = [int(p.name) for p in directory.iterdir() if p.name.isdigit()] if directory.exists() else []
  return max(steps, default=0)


def _wait_for(condition, process, timeout=120):
  deadline = time.monotonic() + timeout
  while not condition():
    assert process.poll() is None, 'training exited early'
    assert time.monotonic() < deadline, 'timed out'
    time.sleep(0.05)
