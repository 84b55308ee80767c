"""Data parallelism: the one train step, run over a `'data'` axis of devices on one or many hosts.

The per-device step (`game.make_step(axis_name=AXIS)`, see `jaxgan.games`) sees its share of the
global batch, averages gradients and metrics with `lax.pmean` and keeps the parameters replicated.
`DataParallel` runs it under `jax.shard_map` over a one-axis `Mesh` or under `jax.pmap`, and moves
the state between the layouts the two wrappers use and the global replicated layout that
checkpoints hold.

Multi-host: call `initialize` first in every process; each process then feeds only its own rows
of every global batch (`process_rows`), and the collectives span all hosts.
"""

import os
from collections.abc import Sequence
from typing import Any

import jax
import numpy as np
from jax.sharding import Mesh, NamedSharding, PartitionSpec

AXIS = 'data'
MODES = ('shard_map', 'pmap')
DEFAULT_MODE = 'shard_map'  # at least as fast as pmap in benchmarks/scaling.py (README)


class ParallelError(ValueError):
  """A device count, process setup or batch size that data parallelism cannot use."""


def initialize(coordinator: str | None = None, num_processes: int | None = None,
               process_id: int | None = None) -> bool:
  """Joins a multi-process run with `jax.distributed.initialize`, if one is described.

  Arguments left None come from JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES and JAX_PROCESS_ID.
  `coordinator='auto'` lets JAX detect a managed cluster (SLURM, Open MPI, Cloud TPU, ...).
  Returns whether it initialised; a single-process run needs none of this.
  """
  coordinator = coordinator or os.environ.get('JAX_COORDINATOR_ADDRESS')
  if num_processes is None and 'JAX_NUM_PROCESSES' in os.environ:
    num_processes = int(os.environ['JAX_NUM_PROCESSES'])
  if process_id is None and 'JAX_PROCESS_ID' in os.environ:
    process_id = int(os.environ['JAX_PROCESS_ID'])
  if coordinator is None and num_processes is None:
    return False
  if coordinator != 'auto' and None in (coordinator, num_processes, process_id):
    raise ParallelError('a multi-process run needs the coordinator address, the number of '
                        'processes and this process id (flags or JAX_COORDINATOR_ADDRESS, '
                        'JAX_NUM_PROCESSES, JAX_PROCESS_ID)')
  try:
    if coordinator == 'auto':
      jax.distributed.initialize()
    else:
      jax.distributed.initialize(coordinator, num_processes, process_id)
  except (RuntimeError, ValueError) as error:  # e.g. no coordinator answered within 5 minutes
    raise ParallelError(f'could not join the multi-process run at {coordinator}: '
                        f'{str(error).splitlines()[0]}') from error
  return True


def select_devices(per_process: int | None = None) -> list:
  """The first `per_process` local devices of every process (all of them when None), in
  process order, so that each process owns a contiguous block of the global batch."""
  local = jax.local_device_count()
  if per_process is not None and per_process > local:
    raise ParallelError(f'--devices {per_process} asked for more devices than this process has '
                        f'({local} {jax.default_backend()} device{"s" if local > 1 else ""})')
  count = per_process or local
  return [device for p in range(jax.process_count())
          for device in sorted((d for d in jax.devices() if d.process_index == p),
                               key=lambda d: d.id)[:count]]


class DataParallel:
  """How one step runs over `devices` (default: all local devices of every process)."""

  def __init__(self, mode: str = DEFAULT_MODE, devices: list | None = None):
    if mode not in MODES:
      raise ParallelError(f'unknown parallel mode {mode!r}; expected one of {", ".join(MODES)}')
    self.mode = mode
    self.devices = devices or select_devices()
    self.mesh = Mesh(np.array(self.devices), (AXIS,))
    self.local_devices = [d for d in self.devices if d.process_index == jax.process_index()]
    self._replicated = NamedSharding(self.mesh, PartitionSpec())
    self._split = NamedSharding(self.mesh, PartitionSpec(AXIS))
    self._steps_split = NamedSharding(self.mesh, PartitionSpec(None, AXIS))  # (steps, rows)
    self._stacked = NamedSharding(Mesh(np.array(self.local_devices), (AXIS,)),
                                  PartitionSpec(AXIS))

  @property
  def num_devices(self) -> int:
    return len(self.devices)

  def check_batch_size(self, global_batch_size: int, group: int = 1) -> None:
    """`ParallelError` unless the global batch splits evenly over the devices, each device's
    share a multiple of `group` (the samples a network groups, e.g. minibatch stddev's) or
    smaller than it."""
    if global_batch_size % self.num_devices:
      raise ParallelError(f'the global batch size {global_batch_size} is not divisible by the '
                          f'{self.num_devices} devices; choose a multiple of {self.num_devices} '
                          f'or fewer --devices')
    per_device = global_batch_size // self.num_devices
    if per_device % min(group, per_device):
      raise ParallelError(f'each of the {self.num_devices} devices gets {per_device} samples, '
                          f'not a multiple of the discriminator\'s groups of {group} '
                          f'(mbstd_group); choose another batch size or --devices')

  def process_rows(self, global_batch_size: int) -> slice:
    """The rows of every global batch that this process feeds."""
    per_process = global_batch_size // jax.process_count()
    start = jax.process_index() * per_process
    return slice(start, start + per_process)

  def compile(self, per_device_step, steps: int = 1):
    """`per_device_step(state, batch)`, made with `axis_name=AXIS`, as a step over all devices
    taking the layouts of `replicate` and `shard_batch`; the state is donated. `steps` > 1: that
    many consecutive steps in one call, over the batches `shard_steps` sends (`lax.scan`),
    returning the last step's metrics."""
    if steps > 1:
      per_device_step = _scanned(per_device_step)
    if self.mode == 'pmap':
      return jax.pmap(per_device_step, axis_name=AXIS, devices=self.devices, donate_argnums=0)
    # check_vma=False, as pmap itself does: the step averages its per-device gradients with
    # pmean. With the check on, JAX would already psum the gradient of the replicated parameters,
    # and the step would average a sum (N times the gradient; Adam hides most of that).
    spec = PartitionSpec()
    batches = self._split if steps == 1 else self._steps_split
    return jax.jit(jax.shard_map(per_device_step, mesh=self.mesh,
                                 in_specs=(spec, batches.spec), out_specs=(spec, spec),
                                 check_vma=False),
                   donate_argnums=0)

  def replicate(self, tree: Any) -> Any:
    """A state (host, single-device or `global_replicated`) in the layout the step takes: one
    copy per local device, stacked on a leading device axis for pmap."""
    def copies(x):
      x = _first_copy(x)
      if self.mode == 'pmap':
        return jax.make_array_from_single_device_arrays(
            (len(self.local_devices), *x.shape), self._stacked,
            [jax.device_put(x[None], device) for device in self.local_devices])
      return jax.make_array_from_single_device_arrays(
          x.shape, self._replicated, [jax.device_put(x, device) for device in self.local_devices])
    return jax.tree.map(copies, tree)

  def global_replicated(self, tree: Any) -> Any:
    """The step's state as global arrays replicated over the mesh: what checkpoints save."""
    if self.mode == 'shard_map':
      return tree

    def from_device_axis(x):
      shards = [shard.data[0] for shard in x.addressable_shards]
      return jax.make_array_from_single_device_arrays(x.shape[1:], self._replicated, shards)
    return jax.tree.map(from_device_axis, tree)

  def abstract_replicated(self, abstract_tree: Any) -> Any:
    """`jax.eval_shape` output with the replicated sharding: the target to restore into."""
    return jax.tree.map(
        lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=self._replicated),
        abstract_tree)

  def local(self, tree: Any) -> Any:
    """This process's own copy of a tree the step returned (replicated state or metrics), on
    one device: for sampling, logging and the finite check."""
    if self.mode == 'pmap':
      return jax.tree.map(lambda x: x.addressable_data(0)[0], tree)
    return jax.tree.map(_first_copy, tree)

  def shard_batch(self, batch: Any) -> Any:
    """This process's rows of the global batch (a dict of arrays, or any pytree of them), each
    leaf split over the devices along its first axis for the step: an explicit, asynchronous
    transfer (the loop calls it a step ahead, and allows no implicit one)."""
    return self.shard_batches([batch])[0]

  def shard_batches(self, batches: Sequence[Any]) -> list:
    """`shard_batch` of each of `batches`, sent in one call where JAX allows it (one process):
    about 24 microseconds a batch instead of 40 for a small one on a 2-core AMD EPYC, which a
    millisecond-scale step feels."""
    if self.mode == 'pmap':
      return jax.device_put([jax.tree.map(
          lambda rows: rows.reshape(len(self.local_devices), -1, *rows.shape[1:]), batch)
          for batch in batches], self._stacked)
    if jax.process_count() == 1:
      return jax.device_put(list(batches), self._split)
    return [jax.tree.map(lambda rows: jax.make_array_from_process_local_data(self._split, rows),
                         batch) for batch in batches]

  def shard_steps(self, batches: Sequence[Any]) -> Any:
    """The batches of consecutive steps as one, for a step compiled with `steps=len(batches)`:
    each leaf stacked on the host along a new leading axis of steps, its rows split over the
    devices as `shard_batch` splits them, and sent in one call."""
    stacked = jax.tree.map(lambda *leaves: np.stack(leaves), *batches)
    if self.mode == 'pmap':  # the device axis first: (devices, steps, rows per device, ...)
      return jax.device_put(jax.tree.map(lambda rows: np.swapaxes(rows.reshape(
          len(batches), len(self.local_devices), -1, *rows.shape[2:]), 0, 1), stacked),
          self._stacked)
    if jax.process_count() == 1:
      return jax.device_put(stacked, self._steps_split)
    return jax.tree.map(lambda rows: jax.make_array_from_process_local_data(
        self._steps_split, rows, (len(rows), rows.shape[1] * jax.process_count(), *rows.shape[2:])),
        stacked)


def peak_memory_mb(devices: Sequence) -> float:
  """The most memory the run has held so far, in MB: the largest peak of `devices` (this
  process's) where the
  backend reports one (`memory_stats()`'s peak_bytes_in_use: GPU, TPU), else the process's peak
  resident memory (CPU, where the devices' arrays live in it)."""
  peaks = [stats.get('peak_bytes_in_use', 0) for stats in
           (device.memory_stats() for device in devices
            if device.process_index == jax.process_index()) if stats]
  if peaks:
    return round(max(peaks) / 2 ** 20, 1)
  import resource  # POSIX
  return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # KB on Linux


def _scanned(per_device_step):
  """`per_device_step` run on each of a call's batches in turn (their leading axis), the state
  carried from one to the next: the arithmetic of separate calls, though XLA, compiling the
  loop's body on its own, may round a last bit differently (tests/test_parallel.py)."""
  def steps(state, batches):
    state, metrics = jax.lax.scan(per_device_step, state, batches)
    return state, jax.tree.map(lambda values: values[-1], metrics)
  return steps


def _first_copy(x: Any) -> Any:
  """One device's copy of a replicated array (other values unchanged)."""
  return x.addressable_data(0) if isinstance(x, jax.Array) else x
