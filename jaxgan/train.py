"""The training loop behind `train.py`: data, the jitted step, logging, samples."""

import json
import math
import time
from pathlib import Path

import jax
import numpy as np
from tqdm import tqdm

from jaxgan import data, losses, nets
from jaxgan.config import Config
from jaxgan.optim import OPTIMIZERS
from jaxgan.images import save_grid, to_uint8
from jaxgan.state import GANState
from jaxgan.step import make_train_step

VALUE_RANGE = (0.0, 1.0)  # the DCGAN generator ends in a sigmoid, like the seed
DIGIT_CHECK_SAMPLES = 1000


class TrainingDiverged(RuntimeError):
  """A loss became NaN or infinite; the message names the step and the loss."""


def init_state(config: Config, generator, discriminator) -> GANState:
  """The step-0 state of a run: both networks and both optimizer states."""
  def adam(learning_rate):
    return OPTIMIZERS[config.optimizer](learning_rate, config.adam_b1, config.adam_b2,
                                        config.adam_eps)

  key = jax.random.fold_in(jax.random.key(config.seed), 0)
  return GANState.create(
      key, generator, discriminator, g_tx=adam(config.g_lr), d_tx=adam(config.d_lr),
      latent_dim=config.latent_dim,
      image_shape=(config.image_size, config.image_size, config.channels),
      use_ema=config.ema_decay > 0)


def make_step(config: Config, generator, discriminator, axis_name: str | None = None):
  """The pure (not yet jitted) train step a config describes."""
  loss = losses.LOSSES[config.loss](config.label_noise)
  return make_train_step(generator, discriminator, loss, config.latent_dim, VALUE_RANGE,
                         ema_decay=config.ema_decay, axis_name=axis_name)


def fixed_latents(config: Config, count: int) -> jax.Array:
  """The latent batch every sample grid of a run is drawn from."""
  key = jax.random.fold_in(jax.random.key(config.seed), 1)
  return jax.random.normal(key, (count, config.latent_dim))


def run(config: Config, workdir: str | Path, progress: bool = True) -> dict:
  """Trains `config.steps` steps; writes config.json, metrics.jsonl and samples/ in `workdir`.

  Returns a summary: final metrics, compile and train time, and for the digits dataset the
  classifier check of `jaxgan.evaluate.digits`.
  """
  workdir = Path(workdir)
  samples_dir = workdir / 'samples'
  samples_dir.mkdir(parents=True, exist_ok=True)
  (workdir / 'config.json').write_text(json.dumps(config.to_dict(), indent=2) + '\n')

  images = data.load_images(config.dataset, config.image_size, config.channels)
  batches = data.EpochBatches(images, config.batch_size, config.seed)
  generator, discriminator = nets.build(config)
  state = init_state(config, generator, discriminator)
  train_step = jax.jit(make_step(config, generator, discriminator), donate_argnums=0)
  generate = jax.jit(generator.apply)
  grid_latents = fixed_latents(config, config.sample_grid ** 2)
  sample_every = config.sample_every or batches.steps_per_epoch

  def save_samples(name):
    pictures = np.asarray(generate(state.sampling_params, grid_latents))
    save_grid(to_uint8(pictures, VALUE_RANGE), samples_dir / f'{name}.png', columns=config.sample_grid)

  summary = {'steps': config.steps, 'batch_size': config.batch_size}
  start = mark_time = time.perf_counter()
  mark_step = 0
  with (workdir / 'metrics.jsonl').open('w') as log, tqdm(
      total=config.steps, disable=not progress, unit='step', mininterval=1.0) as bar:
    for step, batch in zip(range(config.steps), batches.iterate(0)):
      state, metrics = train_step(state, batch)
      done = step + 1
      if done == 1:
        jax.block_until_ready(state)
        summary['compile_s'] = round(time.perf_counter() - start, 2)
      if done % config.log_every == 0 or done == config.steps:
        metrics = {name: float(value) for name, value in jax.device_get(metrics).items()}
        _check_finite(metrics, done)
        now = time.perf_counter()
        metrics['img_per_s'] = round((done - mark_step) * config.batch_size / (now - mark_time), 1)
        log.write(json.dumps({'step': done, **metrics}) + '\n')
        log.flush()
        bar.set_postfix({'d/loss': f'{metrics["d/loss"]:.3f}', 'g/loss': f'{metrics["g/loss"]:.3f}',
                         'img/s': f'{metrics["img_per_s"]:.0f}'})
        summary['final'] = metrics
      if done == 1 or done % config.log_every == 0:
        mark_step, mark_time = done, time.perf_counter()
      if done % sample_every == 0:
        save_samples(f'epoch_{done // batches.steps_per_epoch:03d}' if not config.sample_every
                     else f'step_{done:07d}')
      bar.update(1)
  summary['train_s'] = round(time.perf_counter() - start, 2)
  save_samples('final')

  if config.dataset == 'digits':
    from jaxgan.evaluate.digits import digit_report
    latents = jax.random.normal(jax.random.key(config.seed + 1), (DIGIT_CHECK_SAMPLES,
                                                                  config.latent_dim))
    summary['digits_check'] = digit_report(np.asarray(generate(state.sampling_params, latents)))
    (workdir / 'digits_check.json').write_text(json.dumps(summary['digits_check']) + '\n')
  return summary


def _check_finite(metrics: dict, step: int) -> None:
  bad = [name for name, value in metrics.items() if not math.isfinite(value)]
  if bad:
    raise TrainingDiverged(f'training diverged at step {step}: {", ".join(bad)} is not finite')
