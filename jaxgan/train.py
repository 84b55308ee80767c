"""The training loop behind `train.py`: data, the jitted step, logging, samples."""

import contextlib
import json
import math
import os
import signal
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np
import optax
from tqdm import tqdm

from jaxgan import data, losses, nets, regularizers
from jaxgan.augment import diff_augment
from jaxgan.checkpoint import Checkpoints
from jaxgan.parallel import AXIS, DataParallel
from jaxgan.config import Config
from jaxgan.optim import OPTIMIZERS
from jaxgan.evaluate import modes
from jaxgan.images import save_grid, save_scatter, to_uint8
from jaxgan.state import GANState
from jaxgan.step import make_train_step

VALUE_RANGE = (0.0, 1.0)  # the DCGAN generator ends in a sigmoid, like the seed
DIGIT_CHECK_SAMPLES = 1000


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


def make_regularizer(config: Config) -> regularizers.Regularizer | None:
  """The discriminator penalties a config asks for (None without any)."""
  chosen = []
  if config.gp_weight > 0:
    chosen.append(regularizers.gradient_penalty(config.gp_weight))
  if config.r1_gamma > 0:
    chosen.append(regularizers.r1(config.r1_gamma, config.r1_every))
  return regularizers.chain(*chosen) if chosen else None


def init_state(config: Config, generator, discriminator) -> GANState:
  """The step-0 state of a run: both networks, both optimizer states, the regularizer's."""
  def adam(learning_rate, updates):
    if config.lr_decay == 'cosine':
      learning_rate = optax.cosine_decay_schedule(learning_rate, updates)
    return OPTIMIZERS[config.optimizer](learning_rate, config.adam_b1, config.adam_b2,
                                        config.adam_eps)

  key = jax.random.fold_in(jax.random.key(config.seed), 0)
  return GANState.create(
      key, generator, discriminator, g_tx=adam(config.g_lr, config.steps),
      d_tx=adam(config.d_lr, config.steps * config.n_critic),
      latent_dim=config.latent_dim, image_shape=nets.sample_shape(config),
      use_ema=config.ema_decay > 0, regularizer=make_regularizer(config),
      conditional=nets.num_classes(config) > 0)


def make_step(config: Config, generator, discriminator, axis_name: str | None = None):
  """The pure (not yet jitted) train step a config describes."""
  loss = (losses.seed_bce(config.label_noise) if config.loss == 'seed_bce'
          else losses.LOSSES[config.loss]())
  return make_train_step(generator, discriminator, loss, config.latent_dim, VALUE_RANGE,
                         ema_decay=config.ema_decay, axis_name=axis_name,
                         regularizer=make_regularizer(config),
                         augment=diff_augment(config.augment), n_critic=config.n_critic,
                         sample_key=nets.sample_key(config), num_classes=nets.num_classes(config))


def fixed_latents(config: Config, count: int) -> jax.Array:
  """The latent batch every sample grid of a run is drawn from."""
  key = jax.random.fold_in(jax.random.key(config.seed), 1)
  return jax.random.normal(key, (count, config.latent_dim))


def class_labels(config: Config, count: int) -> tuple:
  """`()` for an unconditional generator, else `(labels,)`: the classes in turn, `count` of them,
  for `generator.apply(params, latents, *class_labels(...))`."""
  classes = nets.num_classes(config)
  return (jnp.arange(count, dtype=jnp.int32) % classes,) if classes else ()


def grid_inputs(config: Config) -> tuple:
  """The sample grid's generator inputs: `sample_grid ** 2` latents, or for a conditional
  generator one row of `sample_grid` per class (a row's latents shared by every class)."""
  classes = nets.num_classes(config)
  if not classes:
    return (fixed_latents(config, config.sample_grid ** 2),)
  row = fixed_latents(config, config.sample_grid)
  return (jnp.tile(row, (classes, 1)),
          jnp.repeat(jnp.arange(classes, dtype=jnp.int32), config.sample_grid))


def run(config: Config, workdir: str | Path, progress: bool = True,
        parallel: DataParallel | None = None, data_dir: str | Path | None = None) -> dict:
  """Trains to `config.steps`, resuming from the workdir's latest checkpoint if there is one.

  The step runs data-parallel over `parallel`'s devices (default: every local device, and every
  host when `jaxgan.parallel.initialize` joined a multi-process run). Process 0 writes
  config.json, metrics.jsonl and samples/ in `workdir`; every process takes part in the
  checkpoints/. Returns a summary: final metrics, compile and train time, and for the embedded
  datasets a quality check (`jaxgan.evaluate.digits`, `jaxgan.evaluate.modes`).
  SIGINT/SIGTERM finish the current step, save, and raise `Interrupted`. `data_dir`: see
  `jaxgan.data.load_dataset`.
  """
  parallel = parallel or DataParallel()
  parallel.check_batch_size(config.batch_size)
  main_process = jax.process_index() == 0
  workdir = Path(workdir)
  samples_dir = workdir / 'samples'
  samples_dir.mkdir(parents=True, exist_ok=True)
  dataset = data.load_examples(config.dataset, config.image_size, config.channels, data_dir,
                               report=lambda line: main_process and print(line, file=sys.stderr),
                               labels=config.conditional)
  if config.conditional:
    config = config.replace(classes=dataset.classes)  # recorded with the run (config.json)
  rows_per_step = config.batch_size * config.n_critic  # a real batch for every critic update
  batches = data.EpochBatches(dataset.examples, rows_per_step, config.seed, config.hflip,
                              rows=parallel.process_rows(rows_per_step))
  generator, discriminator = nets.build(config)
  train_step = parallel.compile(make_step(config, generator, discriminator, axis_name=AXIS))
  generate = jax.jit(generator.apply)
  points = config.arch == 'mlp2d'
  grid = (fixed_latents(config, modes.NUM_SAMPLES),) if points else grid_inputs(config)
  sample_every = config.sample_every or batches.steps_per_epoch

  def save_samples(name):
    if main_process:
      pictures = np.asarray(generate(parallel.local(state.sampling_params), *grid))
      if points:
        save_scatter(pictures, samples_dir / f'{name}.png',
                     modes.MIXTURES[config.dataset]().centers)  # Config: mlp2d <=> a mixture
      else:
        save_grid(to_uint8(pictures, VALUE_RANGE), samples_dir / f'{name}.png',
                  columns=config.sample_grid)

  with Checkpoints(workdir / 'checkpoints', keep=config.keep) as checkpoints, \
      _StopOnSignals() as stop:
    state, first_step = _resume(config, checkpoints, generator, discriminator, parallel)
    if main_process:
      (workdir / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')
    summary = {'steps': config.steps, 'batch_size': config.batch_size, 'resumed_from': first_step,
               'devices': parallel.num_devices, 'parallel': parallel.mode}
    start = mark_time = time.perf_counter()
    mark_step = first_step
    with _metrics_log(workdir / 'metrics.jsonl', first_step, main_process) as log, tqdm(
        initial=first_step, total=config.steps, disable=not (progress and main_process),
        unit='step', mininterval=1.0) as bar:
      for done, batch in zip(range(first_step + 1, config.steps + 1),
                             batches.iterate(first_step)):
        state, metrics = train_step(state, parallel.shard_batch(batch))
        stopping = stop.signal  # read once: a signal may arrive at any line below
        if done == first_step + 1:
          jax.block_until_ready(state)
          summary['compile_s'] = round(time.perf_counter() - start, 2)
        logging = done % config.log_every == 0 or done == config.steps
        saving = done % config.checkpoint_every == 0 or done == config.steps or stopping
        if logging or saving:
          metrics, nonfinite_step = jax.device_get(
              parallel.local((metrics, state.nonfinite_step)))
          metrics = {name: float(value) for name, value in metrics.items()}
          if nonfinite_step:  # before any save: a diverged state is never written
            raise TrainingDiverged(_divergence(metrics, int(nonfinite_step), done))
        if logging:
          now = time.perf_counter()
          metrics['img_per_s'] = round((done - mark_step) * config.batch_size / (now - mark_time),
                                       1)
          log.write(json.dumps({'step': done, **metrics}) + '\n')
          log.flush()
          bar.set_postfix({'d/loss': f'{metrics["d/loss"]:.3f}',
                           'g/loss': f'{metrics["g/loss"]:.3f}',
                           'img/s': f'{metrics["img_per_s"]:.0f}'})
          summary['final'] = metrics
        if done == first_step + 1 or logging:
          mark_step, mark_time = done, time.perf_counter()
        if saving:
          checkpoints.save(done, parallel.global_replicated(state), config.to_dict())
        if done % sample_every == 0:
          save_samples(f'epoch_{done // batches.steps_per_epoch:03d}' if not config.sample_every
                       else f'step_{done:07d}')
        bar.update(1)
        if stopping:
          raise Interrupted(stopping, done)
  summary['train_s'] = round(time.perf_counter() - start, 2)
  save_samples('final')

  if main_process and (check := _quality_check(config)):
    name, report, count = check
    latents = jax.random.normal(jax.random.key(config.seed + 1), (count, config.latent_dim))
    labels = class_labels(config, count)
    samples = np.asarray(generate(parallel.local(state.sampling_params), latents, *labels))
    summary[name] = report(samples, *map(np.asarray, labels))
    (workdir / f'{name}.json').write_text(json.dumps(summary[name]) + '\n')
  return summary


def _quality_check(config: Config):
  """(name, report(samples) -> dict, sample count) for the embedded datasets, else None."""
  if config.dataset == 'digits':
    from jaxgan.evaluate.digits import digit_report
    return 'digits_check', lambda images, asked=None: digit_report(images, asked=asked), \
        DIGIT_CHECK_SAMPLES
  if config.dataset in modes.MIXTURES:
    mixture = modes.MIXTURES[config.dataset]()
    return 'modes_check', lambda points: modes.coverage(points, mixture), modes.NUM_SAMPLES
  return None


def _resume(config, checkpoints, generator, discriminator, parallel):
  """(state, step) from the latest checkpoint, or the initial state at step 0, laid out for
  `parallel` (a run may resume on another number of devices)."""
  step = checkpoints.latest_step()
  if step is None:
    return parallel.replicate(init_state(config, generator, discriminator)), 0
  if changed := config.structure_changes(checkpoints.config(step)):
    raise CheckpointMismatch(
        f'the checkpoint at step {step} has a different {", ".join(changed)}; use the same '
        f'config to resume, or a new --workdir to start a fresh run')
  abstract = jax.eval_shape(lambda: init_state(config, generator, discriminator))
  try:
    restored = checkpoints.restore_state(step, parallel.abstract_replicated(abstract))
  except (ValueError, KeyError, TypeError) as error:  # Orbax: a tree of another structure
    raise CheckpointMismatch(
        f'the checkpoint at step {step} holds a state of another structure than this version '
        f'of jaxgan makes ({str(error).strip().splitlines()[0][:200].rstrip(":")}); it was '
        f'written by another version: use a new --workdir') from error
  return parallel.replicate(restored), step


@contextlib.contextmanager
def _metrics_log(path: Path, first_step: int, writer: bool = True):
  """metrics.jsonl opened for appending, without records past `first_step` (a resumed run
  logs those steps again) and without a last line cut short by a kill. Not `writer`: a sink."""
  if not writer:
    with open(os.devnull, 'w') as sink:
      yield sink
    return
  if path.exists():
    kept = [line for line in path.read_text().splitlines(keepends=True)
            if line.endswith('\n') and json.loads(line)['step'] <= first_step]
    path.write_text(''.join(kept))
  with path.open('a') as log:
    yield log


class _StopOnSignals:
  """Records SIGINT/SIGTERM instead of dying, so the loop can save and stop between steps."""

  SIGNALS = (signal.SIGINT, signal.SIGTERM)

  def __init__(self):
    self.signal = 0

  def _record(self, signum, frame):
    del frame
    self.signal = signum

  def __enter__(self):
    self._previous = [signal.signal(s, self._record) for s in self.SIGNALS]
    return self

  def __exit__(self, *exc_info):
    for s, handler in zip(self.SIGNALS, self._previous):
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
