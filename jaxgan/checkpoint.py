"""Orbax checkpoints of a run (the only module that imports orbax).

A checkpoint at step N holds three items:
  state      the whole `GANState` (every network, optimizer state, EMA and piece state, the key,
             the step; the step is also the data position, see `jaxgan.data`)
  generator  the variables of the network that samples (its EMA when kept), so sampling loads
             nothing else
  config     the run's config, as JSON
Saves are asynchronous; `close()` (or leaving the `with` block) waits until every save is
complete. A save interrupted by a crash stays a temporary directory that Orbax never restores.
A checkpoint whose files were damaged afterwards (a truncated or corrupted file) is skipped by
`newest_readable` for the one before it, and a run moves it aside (`move_aside`), never deletes
it.

For fault-injection tests, `JAXGAN_SAVE_PAUSE_S=SECONDS` makes every save announce itself on
stderr and pause that long after its files are written and before Orbax renames the temporary
directory into place, so that a test can kill the process while a save is provably in progress.
"""

import contextlib
import errno
import logging
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import jax
import orbax.checkpoint as ocp


T = TypeVar('T')
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
    self.directory = Path(directory)
    self._manager = ocp.CheckpointManager(self.directory.absolute(), options=options)
    self._saving = None  # the step of the save in flight
    _quiet_failed_io_reports()

  def __enter__(self):
    return self

  def __exit__(self, exc_type, exc_value, traceback):
    if exc_type is None:
      self.close()
      return
    try:  # the run already failed: that error is the one to report
      self.close()
    except Exception:  # noqa: BLE001
      pass

  def latest_step(self) -> int | None:
    return self._manager.latest_step()

  def steps(self) -> list[int]:
    """The steps of the complete checkpoints, in order."""
    return sorted(self._manager.all_steps())

  def newest_readable(self, read: Callable[[int], T],
                      passes_through: tuple[type[Exception], ...] = ()
                      ) -> tuple[int, T, list[tuple[int, str]]]:
    """`(step, read(step), damaged)` for the newest checkpoint that `read` succeeds on, trying
    them newest first; `damaged`: `(step, reason)` of each newer one it failed on. An exception
    of a `passes_through` type is not damage (a config of other shapes) and propagates.
    `Unreadable` when no checkpoint can be read; `FileNotFoundError` when there is none."""
    steps = sorted(self._manager.all_steps(), reverse=True)
    if not steps:
      raise FileNotFoundError('no complete checkpoint')
    damaged = []
    for step in steps:
      try:
        return step, read(step), damaged
      except passes_through:
        raise
      except Exception as error:  # Orbax, TensorStore and JSON each fail in their own way
        damaged.append((step, _reason(error)))  # its stray reports: _quiet_failed_io_reports
    raise Unreadable(damaged)

  def move_aside(self, step: int, to: Path) -> Path:
    """Moves the checkpoint at `step` into directory `to` (created; a name of its own if one is
    there already), out of the steps Orbax sees; returns where it went."""
    to.mkdir(parents=True, exist_ok=True)
    target, copy = to / str(step), 1
    while target.exists():
      target, copy = to / f'{step}.{copy}', copy + 1
    (Path(self._manager.directory) / str(step)).rename(target)
    self.reload()
    return target

  def reload(self) -> None:
    """Reads the list of steps from the directory again (after a move)."""
    self._manager.reload()

  def save(self, step: int, state, generator, config: dict) -> None:
    """Saves `state` and the `generator` variables to sample with (global arrays; every process
    of a multi-host run calls this). `DiskFull` when this save, or the one before it (saves
    are asynchronous), runs out of space."""
    with self._out_of_space_is_disk_full():
      self._manager.save(step, args=ocp.args.Composite(
          state=ocp.args.StandardSave(state),
          generator=ocp.args.StandardSave(generator),
          config=ocp.args.JsonSave(config)))
      self._saving = step

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
    """Waits for the save in flight (`DiskFull` if it runs out of space) and closes."""
    with self._out_of_space_is_disk_full():
      self._manager.wait_until_finished()
      self._saving = None
    self._manager.close()

  @contextlib.contextmanager
  def _out_of_space_is_disk_full(self):
    try:
      yield
    except Exception as error:
      if not _out_of_space(error):
        raise
      kept = sorted(step for step in self._manager.all_steps() if step != self._saving)
      if not kept:
        intact = 'there is no earlier one'
      elif len(kept) == 1:
        intact = f'the checkpoint of step {kept[0]} is intact'
      else:
        intact = f'the checkpoints of steps {", ".join(map(str, kept))} are intact'
      raise DiskFull(
          f'no space left on the disk of {str(self.directory)!r}: the checkpoint at step '
          f'{self._saving} could not be written; {intact}. Free some space and run the same '
          f'command again to resume') from None


class DiskFull(OSError):
  """A save ran out of space; the message names the step and the checkpoints left intact."""


def _out_of_space(error: BaseException) -> bool:
  """Whether `error` (Python's, or TensorStore's through Orbax) says the disk is full."""
  while error is not None:
    if isinstance(error, OSError) and error.errno == errno.ENOSPC:
      return True
    if 'RESOURCE_EXHAUSTED' in str(error) or 'No space left on device' in str(error):
      return True
    error = error.__cause__ or error.__context__
  return False


class _DropFailedIoReports(logging.Filter):
  """Drops the log records that Orbax's threads and asyncio write about failed I/O that jaxgan
  reports in one line: a full disk (screens of tracebacks, one per array in flight; `DiskFull`)
  and the other reads of a damaged checkpoint, still in flight when the first one failed
  (asyncio's 'Task exception was never retrieved' for each `async_deserialize`; the first
  failure is the one `newest_readable` reports)."""

  def filter(self, record: logging.LogRecord) -> bool:
    text = record.getMessage()
    error = record.exc_info[1] if record.exc_info else None
    if error is not None:
      text += str(error)
    if 'RESOURCE_EXHAUSTED' in text or 'No space left on device' in text:
      return False
    return not ('Task exception was never retrieved' in text
                and ('async_deserialize' in text or _raised_in_orbax(error)))


def _raised_in_orbax(error: BaseException | None) -> bool:
  """Whether `error` was raised in Orbax's code (its traceback passes through it)."""
  frame = getattr(error, '__traceback__', None)
  while frame is not None:
    if f'{os.sep}orbax{os.sep}' in frame.tb_frame.f_code.co_filename:
      return True
    frame = frame.tb_next
  return False


def _quiet_failed_io_reports() -> None:
  """Installs the filters above and `_silence_closed_event_loops`, once per process: the one
  line of `DiskFull` or of a damaged checkpoint says what the screens of reports would."""
  for name in ('absl', 'asyncio'):
    logger = logging.getLogger(name)
    if not any(isinstance(f, _DropFailedIoReports) for f in logger.filters):
      logger.addFilter(_DropFailedIoReports())
  _silence_closed_event_loops()


class Unreadable(RuntimeError):
  """No checkpoint of a directory can be read; `damaged` holds `(step, reason)` of each."""

  def __init__(self, damaged: list[tuple[int, str]]):
    super().__init__('; '.join(f'step {step}: {reason}' for step, reason in damaged))
    self.damaged = damaged


def _reason(error: Exception, limit: int = 150) -> str:
  """An error's first line, short enough for a one-line message."""
  lines = str(error).strip().splitlines()
  text = lines[0] if lines else ''
  text = text if len(text) <= limit else text[:limit].rstrip() + '...'
  return f'{type(error).__name__}: {text}' if text else type(error).__name__


def _silence_closed_event_loops() -> None:
  """Drops the 'Event loop is closed' errors that a failed Orbax restore leaves behind, and the
  errors of its other reads: still in flight when the first one failed, they finish later (or
  are dropped unfinished) and each report an unraisable exception, a screen of tracebacks after
  the one-line message. Every other unraisable exception still reaches the previous hook."""
  previous = sys.unraisablehook
  if getattr(previous, 'jaxgan_filter', False):
    return

  def hook(unraisable):
    error = unraisable.exc_value
    closed_loop = isinstance(error, RuntimeError) and str(error) == 'Event loop is closed'
    code = getattr(unraisable.object, 'cr_code', None)  # a coroutine dropped unfinished
    orbax_read = code is not None and f'{os.sep}orbax{os.sep}' in code.co_filename
    if not (closed_loop or orbax_read):
      previous(unraisable)
  hook.jaxgan_filter = True
  sys.unraisablehook = hook


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
