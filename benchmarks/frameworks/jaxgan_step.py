"""jaxgan's own train step for a preset, jitted with the state donated, as `train.py` runs it."""

import time

import jax
import numpy as np

from jaxgan import configs, families, games

VERSION = f'jax {jax.__version__}'


def compiled_step(spec, images):
  """(the compiled step, its first state, its batch, seconds to lower and compile it)."""
  classes = {'classes': tuple(spec['classes'])} if spec.get('classes') else {}
  config = configs.get(spec['preset']).replace(batch_size=spec['batch_size'], dtype=spec['dtype'],
                                               **classes)
  game = families.game(config)
  stage = spec.get('stage', 0)  # a progressive game's stage: its state grown to it
  state = games.grown(game, game.init(jax.random.key(config.seed)), 0, stage)
  # a real batch for every update that reads one (WGAN's n_critic, a loss of pairs' generator)
  rows = np.concatenate([np.asarray(images)] * game.batches_per_step)
  batch = jax.device_put(families.of(config).example_batch(config, rows))
  step = jax.jit(game.make_step(stage=stage), donate_argnums=0)
  start = time.perf_counter()
  compiled = step.lower(state, batch).compile()
  return compiled, state, batch, time.perf_counter() - start


def make_step(spec, images):
  """(a function running one train step and returning when it is done, facts about the step)."""
  compiled, state, batch, compile_s = compiled_step(spec, images)
  facts = {'compile_s': compile_s, 'xla_flops': (compiled.cost_analysis() or {}).get('flops')}

  def run():
    nonlocal state
    state, metrics = compiled(state, batch)
    jax.block_until_ready(metrics)

  return run, facts


def peak_device_mb():
  """Peak memory of the accelerator, where the backend reports it (GPU, TPU)."""
  stats = jax.devices()[0].memory_stats() or {}
  return stats['peak_bytes_in_use'] / 2**20 if 'peak_bytes_in_use' in stats else None
