"""Helpers for tests: comparing states leaf by leaf, and running train.py in subprocesses and
reading back what they saved."""

import dataclasses
import os
import subprocess
import sys
from pathlib import Path

import jax
import numpy as np

from jaxgan import configs, families, games
from jaxgan.checkpoint import Checkpoints
from jaxgan.config import Config

ROOT = Path(__file__).resolve().parents[1]
QUIET_FLAGS = ['--no-progress', '--no-curves']
TINY = ['--set', 'g_widths=32,16', '--set', 'd_widths=16,32', '--set', 'g_dense_features=32',
        '--batch-size', '16', *QUIET_FLAGS]
# `train.run`'s keywords for the tests' runs, as TINY's last two flags: no progress bar, no
# curves.png (a drawing costs about a second of CPU; `test_logbook.py` draws every panel).
QUIET = {'progress': False, 'curves': False}


def train_command(workdir, *args, flags=TINY):
  """train.py on a tiny digits model, batch 16 (other `flags` for another family); later flags
  override these."""
  return [sys.executable, str(ROOT / 'train.py'), '--workdir', str(workdir), *flags, *args]


def train(workdir, *args, flags=TINY, **kwargs):
  return subprocess.run(train_command(workdir, *args, flags=flags), capture_output=True,
                        text=True, timeout=300, **kwargs)


def real_size_environment() -> dict:
  """This process's environment with the XLA flags the tests started with, for a train.py process
  that trains a real preset for many steps: the flags `conftest.py` adds compile faster and run
  slower, a trade worth making only for few steps."""
  return {**os.environ, 'XLA_FLAGS': os.environ['JAXGAN_TESTS_USER_XLA_FLAGS']}


def final_state(workdir, game=None):
  """The latest checkpoint's GANState (of the config's game unless `game`), restored on this
  process's default device."""
  with Checkpoints(Path(workdir) / 'checkpoints', create=False) as checkpoints:
    step = checkpoints.latest_step()
    config = Config.from_dict(checkpoints.config(step))
    abstract = games.abstract_state(game or families.game(config), jax.random.key(config.seed),
                                    step)
    return checkpoints.restore_state(step, abstract)


def assert_trees_close(got, want, rtol: float, floor: float = 1e-30):
  """Every leaf of `got` equals `want`'s to `rtol` of that leaf's scale (its largest magnitude):
  a tolerance that means as much for Adam's second moments (~1e-9) as for the weights. Integer
  leaves and PRNG keys must be equal; both trees must have the same structure."""
  got_leaves, got_def = jax.tree.flatten_with_path(got)
  want_leaves, want_def = jax.tree.flatten_with_path(want)
  assert got_def == want_def, f'structures differ:\n{got_def}\n{want_def}'
  for (path, a), (_, b) in zip(got_leaves, want_leaves):
    name = jax.tree_util.keystr(path)
    if jax.dtypes.issubdtype(getattr(a, 'dtype', None), jax.dtypes.prng_key):
      a, b = jax.random.key_data(a), jax.random.key_data(b)
    a, b = np.asarray(a), np.asarray(b)
    assert a.shape == b.shape, f'{name}: shape {a.shape} != {b.shape}'
    if not np.issubdtype(b.dtype, np.floating):
      np.testing.assert_array_equal(a, b, err_msg=name)
      continue
    scale = max(float(np.abs(b).max(initial=0.0)), floor)
    error = float(np.abs(a.astype(np.float64) - b).max(initial=0.0))
    assert error <= rtol * scale, (f'{name}: off by {error:.3g}, more than {rtol:g} of its scale '
                                   f'{scale:.3g}')


def dynamic_fields(state) -> dict:
  """A `GANState`'s fields by name, for comparisons that name what differs."""
  return {field.name: getattr(state, field.name) for field in dataclasses.fields(state)}


def one_device():
  """Data parallelism over this process's first device only (the tests' process has 8)."""
  from jaxgan import parallel
  return parallel.DataParallel('shard_map', parallel.select_devices(1))


def resumes_exactly(config, tmp_path, stop: int):
  """Trains `config` in one run (tmp_path/whole) and in a run stopped after `stop` steps and
  resumed (tmp_path/parts); asserts both final states bitwise equal and returns the whole one."""
  from jaxgan.train import run
  run(config, tmp_path / 'whole', **QUIET, parallel=one_device())
  run(config, tmp_path / 'parts', **QUIET, parallel=one_device(), until=stop)
  run(config, tmp_path / 'parts', **QUIET, parallel=one_device())
  whole = final_state(tmp_path / 'whole')
  assert_trees_close(dynamic_fields(final_state(tmp_path / 'parts')), dynamic_fields(whole),
                     rtol=0.0)
  return whole


def main_in_process(capsys, *argv, main=None) -> tuple[int, str, str]:
  """train.py's `main` (or another command's `main`) run in this process: (exit code, stdout,
  stderr). Faster than a process where the process itself is not the point (no interpreter or
  JAX start-up)."""
  if main is None:
    from jaxgan.commands.train import main
  try:
    code = main(list(argv))
  except SystemExit as exit:
    code = exit.code
  captured = capsys.readouterr()
  return code, captured.out, captured.err


def calls_of_several_steps(monkeypatch) -> list[int]:
  """A list to which every call of several steps the loop makes from now on adds its number of
  steps (`DataParallel.shard_steps` sends each such call's batches)."""
  from jaxgan.parallel import DataParallel
  calls, shard_steps = [], DataParallel.shard_steps

  def counted(self, batches):
    calls.append(len(batches))
    return shard_steps(self, batches)
  monkeypatch.setattr(DataParallel, 'shard_steps', counted)
  return calls


def start(config):
  """The step-0 state of `config`'s game, as a run of it starts."""
  return families.game(config).init(jax.random.key(config.seed))


def step_of(config, axis_name=None):
  """`config`'s pure (not yet jitted) train step."""
  return families.game(config).make_step(axis_name=axis_name)


def jit_apply(module, **options):
  """`module.apply` with these static keyword options, jitted. A test that applies a network
  op by op compiles one small program per operation (a StyleGAN2 or U-Net forward pass: hundreds,
  slower together than the whole network compiled once)."""
  return jax.jit(lambda variables, *args, **inputs: module.apply(variables, *args, **options,
                                                                  **inputs))


def assert_bitwise_equal(a, b):
  """Two states are the same, bit for bit: every leaf, PRNG keys included."""
  assert int(a.step) == int(b.step)
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    if jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      x, y = jax.random.key_data(x), jax.random.key_data(y)
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


# In-process runs of a tiny digits model on one device (the loop itself, without a subprocess).
TINY_DIGITS = configs.get('digits').replace(image_size=8, g_base=4, g_widths=(8,), d_widths=(8,),
                                            g_dense_features=8, latent_dim=4, batch_size=16,
                                            ema_decay=0.9, sample_grid=3, steps=2,
                                            checkpoint_every=2)


def run_tiny(config, workdir):
  """`jaxgan.train.run` of `config` in this process, quietly, on one device."""
  from jaxgan.train import run
  return run(config, workdir, **QUIET, parallel=one_device())

