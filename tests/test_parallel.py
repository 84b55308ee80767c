"""Data parallelism: N devices (and 2 processes) train the same run as one device."""

import functools
import json
import os
import socket
import subprocess
import time

import jax
import numpy as np
import pytest

from jaxgan import configs, families, losses, parallel
from jaxgan.games import adversarial
from jaxgan.train import run as train_run
from runs import (QUIET, assert_trees_close, calls_of_several_steps, dynamic_fields, final_state,
                  start, step_of, train, train_command)

# Dropout masks and label noise are drawn per device (see jaxgan/games/adversarial.py), so they are off here;
# the latents are the same whatever the device count.
CONFIG = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), d_widths=(8,),
                                       g_dense_features=8, latent_dim=4, d_dropout=0.0,
                                       label_noise=0.0, batch_size=16, ema_decay=0.9)
STEPS = 4


def _batches(config):
  """STEPS global batches; a real batch for every critic update; labels when conditional."""
  rows = config.batch_size * config.n_critic
  rngs = [np.random.default_rng(i) for i in range(STEPS)]
  return [{'image': rng.integers(0, 256, (rows, 8, 8, 1), dtype=np.uint8),
           **({'label': rng.integers(0, 10, rows, dtype=np.int32)} if config.conditional else {})}
          for rng in rngs]


CONDITIONAL = {'conditional': True, 'classes': tuple('0123456789'), 'spectral_norm': True,
               'loss': 'hinge'}
# Each device averages its own rows and pmean averages the averages, so float32 sums run in
# another order (about 1e-7 relative), which Adam's normalisation passes on to the parameters.
# Compared leaf by leaf against each leaf's own scale (`assert_trees_close`), so Adam's second
# moments (~1e-9) count as much as the weights: summing the gradients over devices instead of
# averaging them makes the first moments 2-8x and the second 4-64x too large.
RTOL = 2e-5


@functools.cache  # the reference of several tests: computed once per config
def _one_device_run(config=CONFIG):
  state = start(config)
  step = jax.jit(step_of(config))
  for batch in _batches(config):
    state, metrics = step(state, batch)
  return state, metrics


def _data_parallel_run(mode, num_devices, config=CONFIG, game=None):
  game = game or families.game(config)
  data_parallel = parallel.DataParallel(mode, parallel.select_devices(num_devices))
  step = data_parallel.compile(game.make_step(axis_name=parallel.AXIS))
  state = data_parallel.replicate(game.init(jax.random.key(config.seed)))
  for batch in _batches(config):
    state, metrics = step(state, data_parallel.shard_batch(batch))
  return data_parallel, state, metrics


@pytest.mark.parametrize('mode, num_devices, n_critic, conditional', [
    ('shard_map', 1, 1, False), ('shard_map', 2, 1, False), ('shard_map', 8, 1, False),
    ('pmap', 2, 1, False), ('pmap', 8, 1, False),
    ('shard_map', 4, 2, False), ('shard_map', 8, 1, True), ('pmap', 2, 2, True)])
def test_n_devices_train_the_one_device_run(mode, num_devices, n_critic, conditional):
  config = CONFIG.replace(n_critic=n_critic, **(CONDITIONAL if conditional else {}))
  reference, reference_metrics = _one_device_run(config)
  data_parallel, state, metrics = _data_parallel_run(mode, num_devices, config)
  for leaf in jax.tree.leaves((state.params, state.ema)):
    copies = [np.asarray(shard.data) for shard in leaf.addressable_shards]
    assert len(copies) == num_devices
    for copy in copies[1:]:  # replicated and bit-identical on every device
      np.testing.assert_array_equal(copy, copies[0])
  local = data_parallel.local(state)
  assert int(local.step) == STEPS
  assert_trees_close(dynamic_fields(local), dynamic_fields(reference), RTOL)
  assert_trees_close(data_parallel.local(metrics), reference_metrics, RTOL)


@pytest.mark.slow
@pytest.mark.parametrize('conditional', [False, True])
def test_resume_on_8_then_2_then_1_devices_is_the_one_device_run(tmp_path, conditional):
  """The README's promise: a run may be resumed on another number of devices (and wrapper)."""
  config = CONFIG.replace(dataset='digits', log_every=2, checkpoint_every=2,
                          **({**CONDITIONAL, 'classes': ()} if conditional else {}))
  train_run(config.replace(steps=6), tmp_path / 'one', parallel=_devices('shard_map', 1), **QUIET)
  for steps, mode, count in ((2, 'shard_map', 8), (4, 'pmap', 2), (6, 'shard_map', 1)):
    summary = train_run(config.replace(steps=steps), tmp_path / 'moved',
                        parallel=_devices(mode, count), **QUIET)
    assert (summary['resumed_from'], summary['devices']) == (steps - 2, count)
  assert_trees_close(dynamic_fields(final_state(tmp_path / 'moved')),
                     dynamic_fields(final_state(tmp_path / 'one')), RTOL)


@pytest.mark.slow
@pytest.mark.parametrize('mode', parallel.MODES)
def test_steps_handed_over_several_a_call_are_the_steps_one_a_call(tmp_path, mode, monkeypatch):
  """`steps_per_call=3` on 2 devices, conditional, 2 critic updates a step: calls of 3 steps
  (0-3, 3-6, 6-9) where the loop does nothing between them, then single steps (9, 10), the
  checkpoints and logs at 6 and at the end: the same state and metrics. (The arithmetic is the
  same, but XLA compiles a step inside a loop on its own: under pmap, a spectral norm's sigma
  came out 1 ulp apart.)"""
  config = CONFIG.replace(dataset='digits', n_critic=2, steps=11, log_every=6,
                          checkpoint_every=6, **{**CONDITIONAL, 'classes': ()})
  calls = calls_of_several_steps(monkeypatch)
  for name, steps_per_call in (('one', 1), ('calls', 3)):
    train_run(config, tmp_path / name, parallel=_devices(mode, 2), **QUIET,
              steps_per_call=steps_per_call)
  assert calls == [3, 3, 3]
  assert_trees_close(dynamic_fields(final_state(tmp_path / 'calls')),
                     dynamic_fields(final_state(tmp_path / 'one')), RTOL)
  logged = [[{name: value for name, value in json.loads(line).items()
              if name not in ('img_per_s', 'memory/peak_mb')}
             for line in (tmp_path / run / 'metrics.jsonl').read_text().splitlines()]
            for run in ('one', 'calls')]
  assert [record['step'] for record in logged[1]] == [6, 11]
  for in_calls, one_a_call in zip(*logged):
    assert in_calls == pytest.approx(one_a_call, rel=RTOL)


def _devices(mode, count):
  return parallel.DataParallel(mode, parallel.select_devices(count))


def test_each_device_draws_its_own_noise():
  """A loss whose value is its key's uniform draw: the step's d/loss is the mean over devices
  of uniform(fold_in(k_loss_d, device)), eight distinct draws."""
  def key_probe(real_logits, fake_logits, key):
    return jax.random.uniform(key) + 0.0 * (real_logits.sum() + fake_logits.sum())

  probe = losses.GANLoss(discriminator=key_probe, generator=lambda fake, key: fake.mean())
  game = adversarial.game(*families.networks(CONFIG), probe, families.game(CONFIG).optimizers,
                          CONFIG.latent_dim, families.of(CONFIG).sample_shape(CONFIG))
  data_parallel, state, metrics = _data_parallel_run('shard_map', 8, game=game)
  base = data_parallel.local(state).key
  k_d, _ = jax.random.split(jax.random.fold_in(base, STEPS - 1))
  k_loss_d = jax.random.split(jax.random.fold_in(k_d, 0), 5)[2]
  draws = [float(jax.random.uniform(jax.random.fold_in(k_loss_d, i))) for i in range(8)]
  assert len(set(draws)) == 8
  np.testing.assert_allclose(float(data_parallel.local(metrics)['d/loss']), np.mean(draws),
                             rtol=1e-6)


def test_bad_device_counts_name_the_numbers():
  with pytest.raises(parallel.ParallelError, match='global batch size 20 .* 8 devices'):
    parallel.DataParallel('pmap').check_batch_size(20)
  with pytest.raises(parallel.ParallelError, match=r'--devices 9 .* \(8 cpu devices\)'):
    parallel.select_devices(9)
  with pytest.raises(parallel.ParallelError, match='unknown parallel mode'):
    parallel.DataParallel('threads')


@pytest.mark.slow
@pytest.mark.parametrize('flags, message', [
    (['--devices', '3'], '--devices 3 asked for more devices than this process has (2 cpu'),
    (['--batch-size', '15'], 'global batch size 15 is not divisible by the 2 devices'),
])
def test_cli_bad_device_counts_are_one_line(tmp_path, flags, message):
  result = train(tmp_path, '--steps', '1', *flags, env=_env(devices=2))
  assert result.returncode == 2
  assert result.stderr.count('\n') == 1 and message in result.stderr, result.stderr


def _env(devices):
  """A train.py process's environment with `devices` simulated CPU devices, and the tests' other
  XLA flags (conftest.py's LLVM level: at XLA's default, the two tests that start two
  processes took 101 and 52 s instead of 66 and 30 s)."""
  return {**os.environ, 'XLA_FLAGS': f"{os.environ.get('XLA_FLAGS', '')} "
                                     f'--xla_force_host_platform_device_count={devices}'}


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _two_processes(workdir, *args):
  """Runs train.py as processes 0 and 1 of one run; their last stdout lines (the summaries)."""
  port = _free_port()
  logs = [workdir.parent / f'{workdir.name}.process{i}.log' for i in range(2)]
  runs = []
  for i, log in enumerate(logs):
    with log.open('w') as out:  # files, not pipes: nobody reads while both run
      runs.append(subprocess.Popen(
          train_command(workdir, *args, '--coordinator', f'localhost:{port}',
                        '--num-processes', '2', '--process-id', str(i)),
          stdout=out, stderr=subprocess.STDOUT, env=_env(devices=2)))
  deadline = time.monotonic() + 300
  while any(run.poll() is None for run in runs) and time.monotonic() < deadline:
    if any(run.poll() not in (None, 0) for run in runs):
      break  # one failed: the other would wait for it until JAX's 5-minute timeout
    time.sleep(0.2)
  for run in runs:
    if run.poll() is None:
      run.kill()
    run.wait()
  outputs = [log.read_text() for log in logs]
  for run, output in zip(runs, outputs):
    assert run.returncode == 0, output[-3000:]
  return [json.loads(next(line for line in reversed(output.splitlines())
                          if line.startswith('{"steps"'))) for output in outputs]


NOISELESS = ['--set', 'd_dropout=0', '--set', 'label_noise=0', '--checkpoint-every', '3']


@pytest.mark.slow
def test_two_processes_train_and_resume_the_one_process_run(tmp_path):
  """2 processes x 2 devices: 3 steps under pmap, then a run resumed to 6 under shard_map in
  one call of 3 steps (`--steps-per-call`), equal one process on 1 device (both wrappers and
  both kinds of call, multi-host, in one pair of runs)."""
  # The one-process run in this process: the same config as the flags below (runs.TINY).
  one = configs.get('digits').replace(g_widths=(32, 16), d_widths=(16, 32), g_dense_features=32,
                                      batch_size=16, d_dropout=0.0, label_noise=0.0,
                                      checkpoint_every=3, steps=6)
  train_run(one, tmp_path / 'single', **QUIET,
            parallel=_devices('shard_map', 1))
  multi = tmp_path / 'multi'
  first = _two_processes(multi, '--steps', '3', '--parallel', 'pmap', *NOISELESS)
  assert [summary['devices'] for summary in first] == [4, 4]
  resumed = _two_processes(multi, '--steps', '6', '--parallel', 'shard_map',
                           '--steps-per-call', '3', *NOISELESS)
  assert [summary['resumed_from'] for summary in resumed] == [3, 3]

  want, got = final_state(tmp_path / 'single'), final_state(multi)
  assert int(got.step) == int(want.step) == 6
  assert_trees_close(dynamic_fields(got), dynamic_fields(want), RTOL)
  # Only process 0 logs: one record per logged step (each run's last), not two.
  records = (multi / 'metrics.jsonl').read_text().splitlines()
  steps = [json.loads(line)['step'] for line in records]
  assert steps == [3, 6]
  assert 'digits_check' in resumed[0] and 'digits_check' not in resumed[1]


@pytest.mark.slow
def test_sigterm_to_one_process_stops_every_process_at_the_same_step(tmp_path):
  """A preemption notice (SIGTERM) to process 1 of a 2-process run: through JAX's preemption
  service both processes stop after the same step, save it together and exit 143."""
  import signal
  port = _free_port()
  logs = [tmp_path / f'process{i}.log' for i in range(2)]
  runs = []
  for i, log in enumerate(logs):
    with log.open('w') as out:
      runs.append(subprocess.Popen(
          train_command(tmp_path / 'run', '--steps', '100000', '--checkpoint-every', '1000',
                        '--coordinator', f'localhost:{port}', '--num-processes', '2',
                        '--process-id', str(i)),
          stdout=out, stderr=subprocess.STDOUT, env=_env(devices=1)))
  try:
    deadline = time.monotonic() + 300
    while not (tmp_path / 'run' / 'samples' / 'epoch_001.png').exists():
      assert time.monotonic() < deadline and all(run.poll() is None for run in runs), \
          [log.read_text()[-2000:] for log in logs]
      time.sleep(0.2)
    runs[1].send_signal(signal.SIGTERM)
    codes = [run.wait(timeout=120) for run in runs]
  finally:
    for run in runs:
      run.kill()
  outputs = [log.read_text() for log in logs]
  assert codes == [128 + signal.SIGTERM] * 2, [output[-2000:] for output in outputs]
  stopped = [int(output.split('stopped by SIGTERM at step ')[1].split(';')[0])
             for output in outputs]
  assert stopped[0] == stopped[1] > 0
  assert int(final_state(tmp_path / 'run').step) == stopped[0]


@pytest.mark.slow
@pytest.mark.parametrize('mode', ['shard_map', 'pmap'])
def test_the_loop_sends_each_batch_a_step_ahead_and_transfers_nothing_implicitly(tmp_path,
                                                                                 mode):
  """The loop runs every step under `jax.transfer_guard('disallow')` (an implicit transfer to or
  from the devices raises): its batch was sent ahead explicitly (`shard_batch`, a step before
  it is needed: `_ahead`), and the logging fetch is an explicit `device_get`. A run of a few
  steps, logging every step, through both wrappers on 2 devices."""
  from jaxgan.train import _ahead
  taken = []
  items = _ahead(taken.append(i) or i for i in range(4))
  assert [(next(items), len(taken)) for _ in range(3)] == [(0, 2), (1, 3), (2, 4)]
  assert list(items) == [3]
  config = configs.get('digits').replace(g_widths=(16, 8), d_widths=(8, 16), g_dense_features=16,
                                         batch_size=8, steps=3, log_every=1, eval_every=0)
  summary = train_run(config, tmp_path, **QUIET, parallel=_devices(mode, 2))
  assert summary['devices'] == 2 and summary['final']['d/loss'] > 0
