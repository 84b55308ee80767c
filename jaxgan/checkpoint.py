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

  def save(self, state, config: dict) -> None:
    self._manager.save(int(state.step), args=ocp.args.Composite(
        state=ocp.args.StandardSave(state),
        generator=ocp.args.StandardSave(state.sampling_params),
        config=ocp.args.JsonSave(config)))

  def config(self, step: int) -> dict:
    return self._manager.restore(step, args=ocp.args.Composite(
        config=ocp.args.JsonRestore()))['config']

  def restore_state(self, step: int, abstract_state):
    """The state saved at `step`, shaped like `abstract_state` (from `jax.eval_shape`)."""
    return self._manager.restore(step, args=ocp.args.Composite(
        state=ocp.args.StandardRestore(abstract_state)))['state']

  def restore_generator(self, step: int, abstract_params):
    return self._manager.restore(step, args=ocp.args.Composite(
        generator=ocp.args.StandardRestore(abstract_params)))['generator']

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
