"""Orbax checkpoints of a run (the only module that imports orbax).

A checkpoint at step N holds three items:
  state      the whole `GANState` (both networks, both optimizer states, the EMA, the key, the
             step; the step is also the data position, see `jaxgan.data`)
  generator  the parameters to sample with (the EMA when kept), so sampling loads nothing else
  config     the run's config, as JSON
Saves are asynchronous; `close()` (or leaving the `with` block) waits until every save is
complete. A save interrupted by a crash stays a temporary directory that Orbax never restores.
"""

from pathlib import Path

import jax
import orbax.checkpoint as ocp


class Checkpoints:
  """The checkpoints directory of one workdir; keeps the last `keep`."""

  def __init__(self, directory: str | Path, keep: int | None = None, create: bool = True):
    options = ocp.CheckpointManagerOptions(max_to_keep=keep, create=create)
    self._manager = ocp.CheckpointManager(Path(directory).absolute(), options=options)

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def save(self, step: int, state, config: dict) -> None:
    """Saves `state` (global arrays; every process of a multi-host run calls this)."""
    self._manager.save(step, args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        generator=ocp.args.StandardSave(state.sampling_params),
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
