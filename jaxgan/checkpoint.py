"""Orbax checkpoints of a run (the only module that imports orbax).

A checkpoint at step N holds three items:
  state      the whole `GANState` (every network, optimizer state, EMA and piece state, the key,
             the step; the step is also the data position, see `jaxgan.data`)
  generator  the variables of the network that samples (its EMA when kept), so sampling loads
             nothing else
  config     the run's config, as JSON
Saves are asynchronous; `close()` (or leaving the `with` block) waits until every save is
complete. A save interrupted by a crash stays a temporary directory that Orbax never restores.

For fault-injection tests, `JAXGAN_SAVE_PAUSE_S=SECONDS` makes every save announce itself on
stderr and pause that long after its files are written and before Orbax renames the temporary
directory into place, so that a test can kill the process while a save is provably in progress.
"""

import os
import sys
import time
from pathlib import Path

import jax
import orbax.checkpoint as ocp


SAVE_PAUSE_VARIABLE = 'JAXGAN_SAVE_PAUSE_S'
SAVE_PAUSE_ANNOUNCEMENT = 'jaxgan: checkpoint save in progress, paused'


class Checkpoints:
  """The checkpoints directory of one workdir; keeps the last `keep`."""

  def __init__(self, directory: str | Path, keep: int | None = None, create: bool = True):
    pause = float(os.environ.get(SAVE_PAUSE_VARIABLE, 0))
    async_options = ocp.AsyncOptions(post_finalization_callback=lambda: _pause(pause)) if pause \
        else None
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create,
                                           async_options=async_options)
    self._manager = ocp.CheckpointManager(Path(directory).absolute(), options=options)

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state, generator, config: dict) -> None:
    """Saves `state` and the `generator` variables to sample with (global arrays; every process
    of a multi-host run calls this)."""
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        generator=ocp.args.StandardSave(generator),
        config=ocp.args.JsonSave(config)))

  def config(self, step: int) -> dict:
    return self._manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore()))['config']

  def restore_state(self, step: int, abstract_state):
    """The state saved at `step`, shaped like `abstract_state` (from `jax.eval_shape`), on the
    leaves' shardings or else this process's first device."""
    return self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(_with_sharding(abstract_state))))['state']

  def restore_generator(self, step: int, abstract_params):
    return self._manager.restore(step, args=ocp.args.Composite(
        generator=ocp.args.StandardRestore(_with_sharding(abstract_params))))['generator']

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def _with_sharding(abstract):
  """Gives unsharded leaves this process's first device. Otherwise Orbax restores onto the
  saving run's devices, which a run on other hardware (or a multi-host run's) does not have."""
  device = jax.sharding.SingleDeviceSharding(jax.local_devices()[0])
  return jax.tree.map(
      lambda x: x if x.sharding is not None else jax.ShapeDtypeStruct(x.shape, x.dtype,
                                                                        sharding=device),
      abstract)


def _pause(seconds: float) -> None:
  """Orbax calls this in its save thread after writing the files, before the final rename."""
  print(f'{SAVE_PAUSE_ANNOUNCEMENT} for {seconds:g} s ({SAVE_PAUSE_VARIABLE})', file=sys.stderr,
        flush=True)
  time.sleep(seconds)
