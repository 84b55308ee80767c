"""R3GAN's train step with each way of computing its grouped convolutions, side by side.

  python benchmarks/grouped_conv.py [--preset r3gan] [--batch 32] [--rounds 3] [--steps 3]
                                    [--out FILE.json]

`jaxgan.nets.r3gan.conv2d` computes a grouped convolution as XLA's own ('xla'), as one dense
convolution with the groups' weights on a block diagonal ('dense') or as a sum over the kernel's
taps ('taps'); 'auto' picks by backend and group count. This times the preset's whole step (R1
and R2 differentiate every convolution twice) under each algorithm, in one process, the
algorithms interleaved round by round; each round's time is the mean of `--steps` steps after a
warm-up step, the table the median over the rounds.
"""

import argparse
import functools
import json
import statistics
import time
from pathlib import Path

import jax
import numpy as np

from jaxgan import configs, families
from jaxgan.nets import r3gan as r3gan_networks

ALGORITHMS = ('xla', 'dense', 'taps', 'auto')


def compiled(config, algorithm: str):
  """(step, state, batch) with every grouped convolution computed by `algorithm`."""
  original = r3gan_networks.conv2d
  r3gan_networks.conv2d = functools.partial(original, algorithm=algorithm)
  try:
    game = families.game(config)
    rows = config.batch_size * game.batches_per_step
    images = np.random.default_rng(0).integers(
        0, 256, (rows, config.image_size, config.image_size, config.channels), np.uint8)
    batch = families.of(config).example_batch(config, images)
    state = game.init(jax.random.key(0))
    step = jax.jit(game.make_step()).lower(state, batch).compile()
  finally:
    r3gan_networks.conv2d = original
  return step, state, batch


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--preset', default='r3gan')
  parser.add_argument('--batch', type=int, default=32)
  parser.add_argument('--rounds', type=int, default=3)
  parser.add_argument('--steps', type=int, default=3)
  parser.add_argument('--out', type=Path)
  args = parser.parse_args()
  config = configs.get(args.preset).replace(batch_size=args.batch)
  if getattr(config, 'conditional', False):
    config = config.replace(classes=tuple(str(digit) for digit in range(10)))
  runs = {}
  for algorithm in ALGORITHMS:
    step, state, batch = compiled(config, algorithm)
    state, _ = step(state, batch)  # warm-up
    jax.block_until_ready(state)
    runs[algorithm] = [step, state, batch, []]
  for _ in range(args.rounds):
    for algorithm, run in runs.items():
      step, state, batch, times = run
      start = time.perf_counter()
      for _ in range(args.steps):
        state, metrics = step(state, batch)
      jax.block_until_ready(metrics)
      times.append((time.perf_counter() - start) / args.steps * 1000)
      run[1] = state
  medians = {algorithm: statistics.median(run[3]) for algorithm, run in runs.items()}
  print(f'{args.preset}, batch {args.batch}, {jax.default_backend()}: the train step, ms '
        f'(median of {args.rounds} rounds of {args.steps} steps)')
  print('| algorithm | ms/step | x xla |\n| --- | --- | --- |')
  for algorithm, ms in medians.items():
    print(f'| {algorithm} | {ms:.1f} | {medians["xla"] / ms:.2f} |')
  if args.out:
    args.out.write_text(json.dumps({'preset': args.preset, 'batch': args.batch,
                                    'backend': jax.default_backend(), 'ms_per_step': medians,
                                    'rounds': {a: run[3] for a, run in runs.items()}},
                                   indent=2) + '\n')


if __name__ == '__main__':
  main()
