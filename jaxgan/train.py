"""The training loop behind `train.py`: data, the jitted step, logging, samples."""

import collections
import contextlib
import dataclasses
import functools
import itertools
import json
import math
import os
import signal
import sys
import time
from collections.abc import Callable, Iterator
from typing import NamedTuple
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from jaxgan import data, families, files, games
from jaxgan.checkpoint import Checkpoints, Unreadable
from jaxgan.config import Config, UnknownFields
from jaxgan.evaluate.training import METRICS as EVAL_METRICS
from jaxgan.evaluate.training import evaluation as training_evaluation
from jaxgan.generation import in_batches
from jaxgan.logbook import Logbook
from jaxgan.parallel import AXIS, DataParallel, peak_memory_mb

GRID_STREAM = 1  # fold_in id of the sample grids' inputs in the run's seed key (0: the init)
DAMAGED_CHECKPOINTS = 'checkpoints_damaged'  # where a run moves checkpoints it cannot read
INIT_FROM_RECORD = 'init_from.txt'  # the workdir whose weights a run started from


class TrainingDiverged(RuntimeError):
  """A loss became NaN or infinite; the message names the step and the loss."""


class CheckpointMismatch(ValueError):
  """The workdir's checkpoint was made with a config of other shapes."""


class Interrupted(RuntimeError):
  """SIGINT or SIGTERM stopped the run after saving a checkpoint."""

  def __init__(self, signum: int, step: int):
    super().__init__(f'stopped by {signal.Signals(signum).name} at step {step}; checkpoint '
                     f'saved, run the same command again to continue')
    self.signum = signum


class WorkdirBusy(RuntimeError):
  """Another run holds the workdir; the message names it."""


def run(config: Config, workdir: str | Path, progress: bool = True,
        parallel: DataParallel | None = None, data_dir: str | Path | None = None,
        game: games.Game | None = None, dataset: data.Dataset | None = None,
        inception_weights: str | None = None, init_from: str | Path | None = None,
        until: int | None = None, data_workers: int = 0, steps_per_call: int = 1,
        curves: bool = True) -> dict:
  """Trains to `config.steps`, resuming from the workdir's latest checkpoint if there is one.

  The game is `config`'s (its family's: `jaxgan.families`) unless `game` is given, the data
  `config.dataset` unless `dataset` is: any game plays in this loop, and `config` then gives
  the run's seed, steps, batch size and logging, sampling and checkpoint cadence.

  The step runs data-parallel over `parallel`'s devices (default: every local device, and every
  host when `jaxgan.parallel.initialize` joined a multi-process run). Process 0 writes
  config.json, metrics.jsonl and samples/ in `workdir`; every process takes part in the
  checkpoints/. Returns a summary: final metrics, compile and train time, and for the embedded
  datasets a quality check (`jaxgan.evaluate.digits`, `jaxgan.evaluate.modes`).
  SIGINT/SIGTERM finish the current call of the step (the host stays at most a call ahead of
  the devices), save, and raise `Interrupted`; after the last step's checkpoint, they stop the
  final samples and checks as promptly, the run complete but for those. `data_dir`: see
  `jaxgan.data.load_dataset`; `inception_weights`: FID's converted Inception, for an evaluation
  in its feature space (`jaxgan.evaluate.training`). `init_from`: a workdir (a run's or
  `jaxgan.convert`'s) whose latest weights a new run starts from (fine-tuning), its optimizer
  states and step fresh (recorded in WORKDIR/init_from.txt); a workdir with checkpoints resumes
  them, and with `init_from` only when its run started from that same workdir
  (`CheckpointMismatch` otherwise: the weights would be silently ignored). One run at a time
  per workdir: `WorkdirBusy` names the process that holds it (`_workdir_lock`). `until`: stop
  after that step with a checkpoint, as an interruption would (the config, and so every
  schedule counted in its steps, unchanged); the final samples and checks come at the end.
  `data_workers`: worker processes that build the batches (`data.EpochBatches.iterate`).
  `steps_per_call`: consecutive steps the loop hands the devices in one call, wherever it has
  nothing to do between them (no logging, checkpoint, samples, evaluation or new stage; see
  `_calls`). Its host work (reading, sending, dispatching) is then paid once for all of them:
  for small steps on a fast accelerator, where that work takes longer than the step. The steps
  are the same (`jaxgan.parallel.DataParallel.compile`); a signal stops the run at the end of
  its call. `curves`: draw curves.png (`jaxgan.logbook`).
  """
  if steps_per_call < 1:
    raise ValueError(f'steps_per_call must be positive, got {steps_per_call}')
  parallel = parallel or DataParallel()
  parallel.check_batch_size(config.batch_size, config.batch_group)
  if dataset is None:
    data.check_outside(config.dataset, workdir)
  workdir = Path(workdir)
  workdir.mkdir(parents=True, exist_ok=True)
  with _workdir_lock(workdir, jax.process_index() == 0):
    return _run(config, workdir, progress, parallel, data_dir, game, dataset, inception_weights,
                init_from, min(until or config.steps, config.steps), data_workers,
                steps_per_call, curves)


@contextlib.contextmanager
def _workdir_lock(workdir: Path, taken: bool):
  """Holds an exclusive lock on WORKDIR/.lock (`fcntl.flock`) while the run lasts, or raises
  `WorkdirBusy` naming the run that holds it. The operating system drops the lock when its
  process ends, however it ends, so a killed run never blocks the next one; sampling and
  evaluation read a workdir without it. Process 0 takes it for a multi-process run."""
  if not taken:
    yield
    return
  import fcntl
  import socket
  with open(workdir / '.lock', 'a+') as lock:
    try:
      fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
      lock.seek(0)
      holder = lock.read().strip() or 'another process'
      raise WorkdirBusy(f'workdir {str(workdir)!r} is in use by {holder}; wait for that run to '
                        f'end (or stop it), or use another --workdir') from None
    lock.seek(0)
    lock.truncate()
    lock.write(f'process {os.getpid()} on {socket.gethostname()}\n')
    lock.flush()
    yield


def _run(config, workdir, progress, parallel, data_dir, game, dataset, inception_weights,
         init_from, last_step, data_workers, steps_per_call, curves) -> dict:
  main_process = jax.process_index() == 0
  report = lambda line: main_process and print(line, file=sys.stderr)
  (workdir / 'samples').mkdir(parents=True, exist_ok=True)
  family = families.of(config)
  if dataset is None:
    dataset = family.dataset(config, data_dir, report)
  if getattr(config, 'conditional', False):
    config = config.replace(classes=dataset.classes)  # recorded with the run (config.json)
  programs = _programs_for(config, game, parallel)
  game = programs.game
  batches = batches_for(config, dataset.examples, game, parallel)
  evaluated = config.eval_every and game.inputs is not None
  evaluate = training_evaluation(config, dataset.examples, workdir, inception_weights) \
      if evaluated and main_process else None
  with Checkpoints(workdir / 'checkpoints', keep=config.keep) as checkpoints, \
      _Best(workdir / 'best', EVAL_METRICS[config.eval_space] if evaluated else None) as best, \
      _StopOnSignals() as stop:
    state, first_step = _resume(config, checkpoints, game, jax.random.key(config.seed), parallel,
                                init_from, workdir, report)
    if main_process:
      files.write_text(workdir / 'config.json', json.dumps(config.to_dict(), indent=2) + '\n')
    loop = _Loop(config, workdir, parallel, programs, family.draw, batches, state, first_step,
                 last_step, checkpoints, best, stop, evaluate)
    with Logbook(workdir, first_step, main_process, curves) as logbook, tqdm(
        initial=first_step, total=config.steps, disable=not (progress and main_process),
        unit='step', mininterval=1.0) as bar, contextlib.closing(loop.batches.reads(
            first_step, last_step, data_workers,
            per_read=steps_per_call if steps_per_call > 1 else None)) as reads:
      loop.train(reads, steps_per_call, logbook, bar)
      if last_step == config.steps:
        loop.stop_if_asked()
        loop.save_samples('final', last_step, logbook)
    if last_step == config.steps and main_process and (check := family.check(config, game)):
      name, measure = check
      loop.summary[name] = measure(parallel.local(loop.state), loop.samples_of,
                                   loop.in_unit_range)
      files.write_text(workdir / f'{name}.json', json.dumps(loop.summary[name]) + '\n')
  return loop.summary


class Action(NamedTuple):
  """Work the loop does between calls of the step: `run(moment)` after each call that ends at a
  count of steps `due(done)` names (a call of several steps ends there), and with `on_signal`
  after one that a signal stops; the due actions run in their list's order."""
  name: str
  due: Callable[[int], bool]
  run: Callable[['Moment'], None]
  on_signal: bool = False


@dataclasses.dataclass
class Moment:
  """The loop after a call of the step: `done` steps, the call's `metrics` on the devices,
  `stopping`: the signal that stops the run after it (or 0), `host`: its metrics on the host
  (fetched on the steps that log or save), `kept`: what a checkpoint keeps of the state."""
  done: int
  metrics: dict
  stopping: int = 0
  host: dict | None = None
  kept: tuple | None = None


class _Loop:
  """A run's steps and the work between them (`actions`), its state and its summary. Process 0
  logs, evaluates and draws; every process steps and saves."""

  def __init__(self, config, workdir, parallel, programs, draw, batches, state, first_step,
               last_step, checkpoints, best, stop, evaluate):
    self.config, self.workdir, self.parallel, self.programs = config, workdir, parallel, programs
    self.game, self.draw, self.batches = programs.game, draw, batches
    self.state, self.first_step, self.last_step = state, first_step, last_step
    self.checkpoints, self.best, self.stop, self.evaluate = checkpoints, best, stop, evaluate
    self.main_process = jax.process_index() == 0
    run_key = jax.random.key(config.seed)
    self.grid = self.game.grid_inputs(jax.random.fold_in(run_key, GRID_STREAM),
                                      self.batches.batch(0))
    self.eval_key = jax.random.key(config.seed + 2)  # every evaluation draws the same latents
    self.sample_every = config.sample_every or self.batches.steps_per_epoch
    self.stage = games.stage_after(self.game, first_step)
    self.stopping_after = None  # the saved step after which `stop_if_asked` ends the run
    self.latest_eval = None  # (metric, value) of the latest evaluation, for the progress bar
    self.summary = {'steps': config.steps, 'batch_size': config.batch_size,
                    'resumed_from': first_step, 'devices': parallel.num_devices,
                    'parallel': parallel.mode}
    self.start = time.perf_counter()
    self.mark = (first_step, self.start)  # (step, time) from which img_per_s is measured

  def train(self, reads, steps_per_call: int, logbook: Logbook, bar) -> None:
    """The steps up to `last_step`, each call of the step followed by the actions due."""
    actions = self.actions(logbook, bar)
    acting_at = lambda done: any(action.due(done) for action in actions)
    # Multi-process pmap moves its host-local arguments into global arrays itself, which JAX
    # counts as implicit transfers; everywhere else a step transfers nothing: its batch was sent
    # a call ahead (`_ahead`), and the actions' fetches are explicit.
    guard = 'allow' if self.parallel.mode == 'pmap' and jax.process_count() > 1 else 'disallow'
    if self.game.stage(self.first_step) != self.stage:  # resumed where a stage begins
      self.enter_stage(self.first_step)
    done, in_flight = self.first_step, None
    for steps, batch in _ahead(_calls(reads, done, steps_per_call, acting_at, self.parallel)):
      done += steps
      with jax.transfer_guard(guard):
        self.state, metrics = self.programs.train_step(self.stage, steps)(self.state, batch)
        # At most this call waits behind the one running, so that a signal stops the run within
        # a call whenever it comes; the devices still have the next call queued.
        jax.block_until_ready(in_flight)
        in_flight = metrics
        # Read once (a signal may arrive at any line below), for every step the call ran.
        stopping = max(self.stop.requested(step) for step in range(done - steps + 1, done + 1))
      if done - steps == self.first_step:
        jax.block_until_ready(self.state)
        self.summary['compile_s'] = round(time.perf_counter() - self.start, 2)
      bar.update(steps)
      moment = Moment(done, metrics, stopping)
      for action in actions:
        if action.due(done) or (stopping and action.on_signal):
          action.run(moment)
      if done - steps == self.first_step:  # the rates measured from here: no compilation
        self.mark = (done, time.perf_counter())
    self.summary['train_s'] = round(time.perf_counter() - self.start, 2)
    self.stopping_after = done  # saved: the rest only draws, and a signal ends it

  def actions(self, logbook: Logbook, bar) -> list[Action]:
    """What the loop does after the steps that bring the count to `done`, in order."""
    config, game = self.config, self.game
    evaluating = lambda done: bool(self.best.metric) and done % config.eval_every == 0
    logging = lambda done: done % config.log_every == 0 or done == config.steps or \
        evaluating(done)
    saving = lambda done: done % config.checkpoint_every == 0 or done == self.last_step
    return [
        Action('fetch', lambda done: logging(done) or saving(done), self.fetch, on_signal=True),
        Action('evaluate', evaluating, self.evaluation),
        Action('log', logging, functools.partial(self.log, logbook=logbook, bar=bar)),
        Action('checkpoint', saving, self.save, on_signal=True),
        Action('best', evaluating, self.save_if_best),
        Action('samples', lambda done: done % self.sample_every == 0,
               lambda moment: self.save_samples(self.grid_name(moment.done), moment.done,
                                                logbook)),
        Action('stop', lambda done: False, self.interrupt, on_signal=True),
        Action('stage', lambda done: done < self.last_step and
               game.stage(done) != game.stage(done - 1),
               lambda moment: self.enter_stage(moment.done)),
    ]

  def fetch(self, moment: Moment) -> None:
    """The metrics to the host, and the learning rates; a diverged run stops before it saves."""
    metrics, nonfinite_step, opt_state = jax.device_get(self.parallel.local(
        (moment.metrics, self.state.nonfinite_step, _update_counts(self.state.opt_state))))
    moment.host = {name: float(value) for name, value in metrics.items()}
    if nonfinite_step:  # before any save: a diverged state is never written
      raise TrainingDiverged(_divergence(moment.host, int(nonfinite_step), moment.done))
    moment.host.update(games.learning_rates(self.game, opt_state))

  def evaluation(self, moment: Moment) -> None:
    if self.main_process:
      inputs = self.game.inputs(self.eval_key, self.config.eval_samples)
      moment.host.update(self.evaluate(self.in_unit_range(self.samples_of(inputs))))

  def log(self, moment: Moment, logbook: Logbook, bar) -> None:
    """metrics.jsonl, TensorBoard and the progress bar, with the images per second since the
    last log and the devices' peak memory."""
    metrics, (mark_step, mark_time), now = moment.host, self.mark, time.perf_counter()
    metrics['img_per_s'] = round((moment.done - mark_step) * self.config.batch_size /
                                 (now - mark_time), 1)
    metrics['memory/peak_mb'] = peak_memory_mb(self.parallel.devices)
    logbook.record(moment.done, metrics)
    if self.best.metric in metrics:
      self.latest_eval = (self.best.metric, metrics[self.best.metric])
    bar.set_postfix(progress_fields(metrics, self.stage, self.latest_eval))
    self.summary['final'] = metrics
    self.mark = (moment.done, time.perf_counter())

  def kept(self, moment: Moment) -> tuple:
    """(step, state, the sampler's variables, config): what a checkpoint keeps."""
    if moment.kept is None:
      saved = self.parallel.global_replicated(self.state)
      moment.kept = (moment.done, saved, saved.variables(self.game.sampler, ema=True),
                     self.config.to_dict())
    return moment.kept

  def save(self, moment: Moment) -> None:
    self.checkpoints.save(*self.kept(moment))

  def save_if_best(self, moment: Moment) -> None:
    if self.best.improved(moment.done, moment.host.get(self.best.metric)):
      self.best.save(*self.kept(moment))

  def interrupt(self, moment: Moment) -> None:
    raise Interrupted(moment.stopping, moment.done)

  def enter_stage(self, done: int) -> None:
    """Grows the state into the stage step `done` (from 0) plays; its step compiles anew."""
    grown = games.grown(self.game, self.parallel.local(self.state), self.stage,
                        self.game.stage(done))
    self.state, self.stage = self.parallel.replicate(grown), self.game.stage(done)

  def grid_name(self, done: int) -> str:
    return f'step_{done:07d}' if self.config.sample_every else \
        f'epoch_{done // self.batches.steps_per_epoch:03d}'

  def save_samples(self, name: str, step: int, logbook: Logbook) -> None:
    """samples/NAME.png, the same grid in TensorBoard, and curves.png redrawn."""
    if self.main_process:
      path = self.workdir / 'samples' / f'{name}.png'
      self.draw(self.config, self.game, self.game.show(self.grid, self.samples_of(self.grid)),
                path)
      logbook.image('samples', step, path)
      logbook.draw_curves()

  def samples_of(self, inputs: dict):
    """The sampler's samples of `inputs`, a training batch at a time (`generation.in_batches`);
    a signal heard between two batches stops the run (its last step is saved)."""
    sampler = self.parallel.local(self.state.variables(self.game.sampler, ema=True))
    generate = lambda batch: self.programs.generate(sampler, batch, stage=self.stage)
    return in_batches(generate, inputs, self.config.batch_size, between=self.stop_if_asked)

  def stop_if_asked(self) -> None:
    """Past the steps, `Interrupted` for a signal, the last step being saved already."""
    if self.stopping_after is not None and (signum := self.stop.signal):
      raise Interrupted(signum, self.stopping_after)

  def in_unit_range(self, samples):
    """Images from the generator's range to [0, 1], as the evaluations read them."""
    lo, hi = self.game.value_range
    return samples if samples.ndim == 2 else (samples - lo) / (hi - lo)


class _Programs:
  """A run's game and its compiled programs: the step of each stage, compiled once when first
  asked for, and the sampler."""

  def __init__(self, game: games.Game, parallel: DataParallel):
    self.game, self._parallel, self._steps = game, parallel, {}
    self.generate = jax.jit(game.generate, static_argnames='stage')

  def train_step(self, stage: int, steps: int = 1):
    """The step of `stage`, or `steps` > 1 of them in one call (`DataParallel.compile`)."""
    if (stage, steps) not in self._steps:
      self._steps[stage, steps] = self._parallel.compile(
          self.game.make_step(axis_name=AXIS, stage=stage), steps)
    return self._steps[stage, steps]


_RECENT_PROGRAMS: collections.OrderedDict = collections.OrderedDict()
RECENT_PROGRAMS_KEPT = 2  # what a process keeps compiled for the next run (host memory bounds it)


def _programs_for(config: Config, game: games.Game | None, parallel: DataParallel) -> _Programs:
  """The programs of a run of `config` (or of `game`, when the caller gives one) over
  `parallel`'s devices: those of an earlier run in this process with an equal config (the same
  game object) and the same devices when there was one, so that running again in one process
  (a notebook cell run again after an interruption, a resume, a stopped run continued, the same
  run with another seed) neither traces nor compiles again. A game is a pure function of its
  config, and the seed is not part of it (the run draws its keys from it), so configs equal but
  for the seed make the same programs."""
  devices = (parallel.mode, tuple(device.id for device in parallel.devices))
  programs_config = {name: value for name, value in config.to_dict().items() if name != 'seed'}
  key = (id(game), devices) if game is not None else \
      (json.dumps(programs_config, sort_keys=True), devices)
  if key in _RECENT_PROGRAMS:
    _RECENT_PROGRAMS.move_to_end(key)
  else:
    _RECENT_PROGRAMS[key] = _Programs(game or families.game(config), parallel)
    while len(_RECENT_PROGRAMS) > RECENT_PROGRAMS_KEPT:
      _RECENT_PROGRAMS.popitem(last=False)
  return _RECENT_PROGRAMS[key]


def _ahead(items: Iterator) -> Iterator:
  """`items`, each taken one ahead of its use: the loop's batch for step s + 1 is sent to the
  devices (asynchronously) when the step s is handed out, so it is there before step s + 1
  starts, instead of the device waiting for its transfer. (The batches of a read go together,
  so a read's last step sends the next read's.)"""
  pending = collections.deque(itertools.islice(items, 1))
  for item in items:
    pending.append(item)
    yield pending.popleft()
  yield from pending


def _calls(reads: Iterator, first_step: int, steps_per_call: int,
           acting_at: Callable[[int], bool], parallel: DataParallel) -> Iterator:
  """(steps, batch) for each call of the step, in order, the batches sent to the devices a read
  at a time: a read of exactly `steps_per_call` > 1 steps after none of which but its last the
  loop acts (`acting_at(done)`, the count of steps done) as one call of them all
  (`DataParallel.shard_steps`), any other read one step a call (`shard_batches`)."""
  done = first_step
  for read in reads:
    if steps_per_call > 1 and len(read) == steps_per_call and not any(
        acting_at(done + step) for step in range(1, steps_per_call)):
      yield steps_per_call, parallel.shard_steps(read)
    else:
      yield from ((1, batch) for batch in parallel.shard_batches(read))
    done += len(read)


def batches_for(config: Config, examples, game: games.Game,
                parallel: DataParallel) -> data.EpochBatches:
  """The batches a run of `config` reads from `examples`: a real batch for every critic update,
  this process's rows of it, at the size each of `game`'s stages trains on."""
  rows_per_step = config.batch_size * game.batches_per_step
  return data.EpochBatches(examples, rows_per_step, config.seed, config.hflip,
                           rows=parallel.process_rows(rows_per_step),
                           image_size=_image_sizes(game, config.steps))


def _image_sizes(game: games.Game, steps: int) -> data.StepSizes | None:
  """The side of the real images each step trains on, as a table the loader's worker processes
  can take (the game stays in this process); None when every stage trains on the dataset's.
  Each stage's first step is found by bisection: stages only grow with the step."""
  starts, sizes, step = [], [], 0
  while step < steps:
    stage, last, beyond = game.stage(step), step, steps
    while last + 1 < beyond:
      middle = (last + beyond) // 2
      last, beyond = (middle, beyond) if game.stage(middle) == stage else (last, middle)
    starts.append(step)
    sizes.append(game.image_size(stage))
    step = beyond
  return None if all(size is None for size in sizes) else data.StepSizes(tuple(starts),
                                                                          tuple(sizes))


def progress_fields(metrics: dict, stage: int, latest_eval: tuple[str, float] | None) -> dict:
  """What the progress bar shows beside tqdm's count, rate and ETA: the losses and img/s, and
  where the run has them the stage (with a fade's alpha), ADA's p and the latest evaluation."""
  fields = {'d/loss': f'{metrics["d/loss"]:.3f}', 'g/loss': f'{metrics["g/loss"]:.3f}',
            'img/s': f'{metrics["img_per_s"]:.0f}'}
  if 'memory/peak_mb' in metrics:
    fields['peak'] = f'{metrics["memory/peak_mb"] / 1024:.2f} GB'
  if 'progress/alpha' in metrics:
    fields['stage'] = f'{stage} (alpha {metrics["progress/alpha"]:.2f})'
  if 'augment/p' in metrics:
    fields['p'] = f'{metrics["augment/p"]:.3f}'
  if latest_eval is not None:
    fields[latest_eval[0].removeprefix('eval/')] = f'{latest_eval[1]:.2f}'
  return fields


class _Best:
  """The checkpoint of the best evaluation so far (lowest `metric`), in its own directory beside
  the latest ones, with `best.json` naming its step and value. Process 0 evaluates; every process
  takes its decision (a multi-host save needs them all)."""

  def __init__(self, directory: Path, metric: str | None):
    self.directory, self.metric = directory, metric
    self.record = directory / 'best.json'
    self.value = json.loads(self.record.read_text())['value'] if self.record.exists() else None
    self._checkpoints = None

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    if self._checkpoints is not None:
      self._checkpoints.close()

  def improved(self, step: int, value: float | None) -> bool:
    better = value is not None and (self.value is None or value < self.value)
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      better = bool(multihost_utils.broadcast_one_to_all(np.int32(better)))
    if better:
      self.value = value
      if jax.process_index() == 0:
        self.directory.mkdir(parents=True, exist_ok=True)
        files.write_text(self.record, json.dumps({'step': step, 'metric': self.metric,
                                                  'value': value}) + '\n')
    return better

  def save(self, step, state, generator, config):
    if self._checkpoints is None:
      self._checkpoints = Checkpoints(self.directory / 'checkpoints', keep=1)
    self._checkpoints.save(step, state, generator, config)


def _resume(config, checkpoints, game, run_key, parallel, init_from=None, workdir=None,
            report=print):
  """(state, step) from the newest readable checkpoint, or the initial state at step 0 (with the
  weights of `init_from`'s latest checkpoint), laid out for `parallel` (a run may resume on
  another number of devices). A newer checkpoint that cannot be read (damaged files) is moved
  aside into WORKDIR/checkpoints_damaged/ with one line `report`ed; none readable:
  `CheckpointMismatch`, nothing moved."""
  started_from = workdir / INIT_FROM_RECORD if workdir is not None else None
  if checkpoints.latest_step() is None:
    # Weights to start from are read and checked against the state's shapes (traced, not
    # computed) before the init program compiles: a mismatch is one line without that wait.
    taken = (_weights_from(Path(init_from), games.abstract_state(game, run_key, 0))
             if init_from is not None else {})
    if started_from is not None and jax.process_index() == 0:
      if init_from is None:
        started_from.unlink(missing_ok=True)
      else:
        files.write_text(started_from, str(Path(init_from).resolve()) + '\n')
    return parallel.replicate(game.init(run_key).replace(**taken)), 0
  if init_from is not None:  # resumed: the weights came from `init_from` at step 0, or never
    recorded = started_from.read_text().strip() if started_from and started_from.is_file() \
        else None
    if recorded != str(Path(init_from).resolve()):
      raise CheckpointMismatch(
          f'--init-from starts a new run, but {str(workdir)!r} holds a run already (its latest '
          f'checkpoint: step {checkpoints.latest_step()}, '
          f'{"started from " + repr(recorded) if recorded else "not started from weights"}): '
          f'leave out --init-from to continue it, or fine-tune in a new --workdir')

  def read(step):
    saved = checkpoints.config(step)
    try:
      Config.from_dict(saved)
    except UnknownFields as error:  # another version's: not damage
      raise CheckpointMismatch(f'the checkpoint at step {step} holds {error}') from None
    if changed := config.structure_changes(saved):
      raise CheckpointMismatch(
          f'the checkpoint at step {step} has a different {", ".join(changed)}; use the same '
          f'config to resume, or a new --workdir to start a fresh run')
    abstract = games.abstract_state(game, run_key, step)
    return checkpoints.restore_state(step, parallel.abstract_replicated(abstract))
  try:
    step, restored, damaged = checkpoints.newest_readable(read, (CheckpointMismatch,))
  except Unreadable as error:
    raise CheckpointMismatch(
        f'no checkpoint in {str(workdir / "checkpoints")!r} can be read by this version of '
        f'jaxgan ({error}); nothing was moved or deleted: use a new --workdir') from None
  for bad_step, reason in damaged:
    aside = workdir / DAMAGED_CHECKPOINTS / str(bad_step)
    if jax.process_index() == 0:
      aside = checkpoints.move_aside(bad_step, workdir / DAMAGED_CHECKPOINTS)
    report(f'jaxgan: the checkpoint at step {bad_step} cannot be read ({reason}); moved it '
           f'aside to {str(aside)!r} and resumed from step {step}')
  if damaged:
    if jax.process_count() > 1:
      from jax.experimental import multihost_utils
      multihost_utils.sync_global_devices('jaxgan: damaged checkpoints moved aside')
    checkpoints.reload()
  return parallel.replicate(restored), step


def _weights_from(source: Path, fresh) -> dict:
  """The fields of a state that a run started with `--init-from source` takes from the latest
  checkpoint in `source` (every network's weights, non-trained collections and EMA), for a
  state shaped as `fresh` (arrays or their shapes); `CheckpointMismatch` naming the first tensor
  whose shape (or presence) differs."""
  directory = source / 'checkpoints'
  if not directory.is_dir():
    raise CheckpointMismatch(f'--init-from {str(source)!r}: no checkpoints there')
  with Checkpoints(directory, create=False) as checkpoints:
    step = checkpoints.latest_step()
    if step is None:
      raise CheckpointMismatch(f'--init-from {str(source)!r}: no complete checkpoint')
    try:
      source_config = Config.from_dict(checkpoints.config(step))
    except UnknownFields as error:
      raise CheckpointMismatch(f'--init-from {str(source)!r}: {error}') from None
    source_game = families.game(source_config)
    saved = checkpoints.restore_state(step, games.abstract_state(
        source_game, jax.random.key(source_config.seed), step))
  taken = {}
  for part in ('params', 'collections', 'ema'):
    taken[part] = {}
    for name, tree in getattr(fresh, part).items():
      others = getattr(saved, part)
      other = others.get(name, saved.params.get(name) if part == 'ema' else None)
      _check_same_shapes(tree, other, f'{part}[{name!r}]', source)
      taken[part][name] = other
  return taken


def _check_same_shapes(want, have, where: str, source: Path):
  if have is None:
    raise CheckpointMismatch(f'--init-from {str(source)!r} has no {where}')
  have_leaves = {jax.tree_util.keystr(path): leaf for path, leaf in
                 jax.tree.flatten_with_path(have)[0]}
  for path, leaf in jax.tree.flatten_with_path(want)[0]:
    name = jax.tree_util.keystr(path)
    if name not in have_leaves:
      raise CheckpointMismatch(f'--init-from {str(source)!r}: {where}{name} is missing')
    if have_leaves[name].shape != leaf.shape:
      raise CheckpointMismatch(f'--init-from {str(source)!r}: {where}{name} has shape '
                               f'{have_leaves[name].shape}, this run needs {leaf.shape}')


def _update_counts(opt_state: dict) -> dict:
  """Only the update counts of the optimizer states (what `games.learning_rates` reads), so
  that a logging step fetches a few integers, not the optimizer's moments."""
  return jax.tree.map_with_path(
      lambda path, leaf: leaf if getattr(path[-1], 'name', None) == 'count' else None, opt_state)


class _StopOnSignals:
  """Records SIGINT/SIGTERM instead of dying, so the loop can save and stop between steps.

  A multi-process run leaves SIGTERM (a scheduler's preemption notice) to JAX's preemption
  service, which `jax.distributed.initialize` starts: the process that receives it tells the
  coordinator, every process learns of it, and `multihost_utils.reached_preemption_sync_point`
  turns true at the same step on all of them, so that they save that step together and exit.
  SIGINT stays this process's own."""

  def __init__(self):
    self.signal = 0
    self.preemptible = jax.process_count() > 1
    self.signals = (signal.SIGINT,) if self.preemptible else (signal.SIGINT, signal.SIGTERM)

  def _record(self, signum, frame):
    del frame
    self.signal = signum

  def requested(self, step: int) -> int:
    """The signal that asks the run to stop after `step`, or 0. Called after every step (with
    several processes, each must call it at every step: the sync point counts them)."""
    if self.preemptible:
      from jax.experimental import multihost_utils
      if multihost_utils.reached_preemption_sync_point(step):
        return signal.SIGTERM
    return self.signal

  def __enter__(self):
    self._previous = [signal.signal(s, self._record) for s in self.signals]
    return self

  def __exit__(self, *exc_info):
    for s, handler in zip(self.signals, self._previous):
      signal.signal(s, handler)


def _divergence(metrics: dict, first_step: int, step: int) -> str:
  """The message for a run whose metrics stopped being finite at `first_step`."""
  bad = ', '.join(name for name, value in metrics.items() if not math.isfinite(value))
  if step == first_step:
    found = f', not finite: {bad}'
  else:
    found = f' (at step {step} not finite: {bad or "none"})'
  return (f'training diverged at step {first_step}{found}; no checkpoint of a non-finite state '
          f'was written')
