"""The stride-2 transposed convolution's two algorithms, side by side on the presets' layers.

  python benchmarks/conv_transpose.py [--rounds 5] [--out benchmarks/results/conv_transpose.json]
      [--steps dcgan64:8,dcgan64:32]

'phases' computes the four output phases with one stride-1 convolution (`matmul_conv` on CPU);
'winograd' each phase's 2x2-window convolution by Winograd's F(4x4, 2x2) (`jaxgan/nets/
winograd.py`). Each layer's forward and both gradients (what a train step runs) are compiled
for both, then timed in turn, `--rounds` rounds of 3 calls each; the table gives the median
call and what `algorithm='auto'` picks for that layer on this backend. The last rows are layers
of no preset that bracket the rule 'auto' follows (input and output channels, tiles).

`--steps PRESET:BATCH,...` also times those presets' whole train steps (`jaxgan_step.py`, as
`throughput.py` runs them) with 'auto' against the phases everywhere (`auto_algorithm` replaced
while the second program compiles), both compiled in this process and timed in turn,
`--rounds` rounds of 2 steps each.
"""

import argparse
import contextlib
import json
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from jaxgan import configs
from jaxgan.nets import layers
from timing import median

sys.path.insert(0, str(Path(__file__).parent / 'frameworks'))
import jaxgan_step  # noqa: E402

# (name, batch, input size, input channels, output channels): the generators' upsampling layers.
LAYERS = [
    ('dcgan64 b8, layer 1', 8, 8, 128, 128),
    ('dcgan64 b8, layer 2', 8, 16, 128, 256),
    ('dcgan64 b8, layer 3', 8, 32, 256, 512),
    ('dcgan64 b32, layer 1', 32, 8, 128, 128),
    ('dcgan64 b32, layer 2', 32, 16, 128, 256),
    ('dcgan64 b32, layer 3', 32, 32, 256, 512),
    ('dcgan32 b32, layer 1', 32, 4, 128, 128),
    ('dcgan32 b32, layer 2', 32, 8, 128, 128),
    ('dcgan32 b32, layer 3', 32, 16, 128, 64),
    ('128 -> 128 channels, 512 tiles', 32, 16, 128, 128),
    ('256 -> 256 channels, 128 tiles', 8, 16, 256, 256),
    ('256 -> 256 channels, 512 tiles', 32, 16, 256, 256),
    ('512 -> 512 channels, 32 tiles', 8, 8, 512, 512),
]
ALGORITHMS = ('phases', 'winograd')


def layer_call(algorithm):
  """The layer's output and its gradients in the input and the kernel, for one cotangent."""
  def call(x, kernel, cotangent):
    y, vjp = jax.vjp(lambda x, k: layers.conv_transpose_by_phases(x, k, 2, algorithm), x, kernel)
    return (y, *vjp(cotangent))
  return jax.jit(call)


def interleaved_ms(runs, rounds, calls):
  """{'NAME_ms': median ms}: each of `runs` (name -> a call that returns when its work is done)
  called `calls` times in turn, `rounds` times over."""
  times = {name: [] for name in runs}
  for _ in range(rounds):
    for name, run in runs.items():
      for _ in range(calls):
        start = time.perf_counter()
        run()
        times[name].append(time.perf_counter() - start)
  return {f'{name}_ms': 1000 * median(times[name]) for name in runs}


def time_layer(batch, size, c_in, c_out, rounds):
  keys = jax.random.split(jax.random.key(0), 3)
  x = jax.random.normal(keys[0], (batch, size, size, c_in))
  kernel = jax.random.normal(keys[1], (4, 4, c_in, c_out)) / np.sqrt(4 * c_in)
  cotangent = jax.random.normal(keys[2], (batch, 2 * size, 2 * size, c_out))
  calls = {name: layer_call(name) for name in ALGORITHMS}
  outputs = {name: jax.block_until_ready(call(x, kernel, cotangent))
             for name, call in calls.items()}
  error = max(float(jnp.abs(a - b).max() / jnp.abs(b).max())
              for a, b in zip(outputs['winograd'], outputs['phases']))
  runs = {name: lambda call=call: jax.block_until_ready(call(x, kernel, cotangent))
          for name, call in calls.items()}
  return {**interleaved_ms(runs, rounds, 3), 'largest_difference': error,
          'auto': layers.auto_algorithm(x, kernel, 2)}


@contextlib.contextmanager
def phases_everywhere():
  """'auto' runs the phases in every layer traced meanwhile."""
  auto = layers.auto_algorithm
  layers.auto_algorithm = lambda *args: 'phases'
  try:
    yield
  finally:
    layers.auto_algorithm = auto


def time_step(case, rounds):
  """{'auto_ms': ..., 'phases_ms': ...}: a preset's train step, median of `rounds` x 2."""
  preset, batch = case.split(':')
  config = configs.get(preset)
  spec = {'preset': preset, 'batch_size': int(batch), 'dtype': 'float32'}
  images = np.random.default_rng(0).integers(
      0, 256, (int(batch), config.image_size, config.image_size, config.channels), dtype=np.uint8)
  steps = {'auto': jaxgan_step.make_step(spec, images)[0]}
  with phases_everywhere():
    steps['phases'] = jaxgan_step.make_step(spec, images)[0]
  return interleaved_ms(steps, rounds, 2)


def main():
  parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--out', default='benchmarks/results/conv_transpose.json')
  parser.add_argument('--steps', default='', help='PRESET:BATCH,... whose steps to time too')
  parser.add_argument('--layers', action=argparse.BooleanOptionalAction, default=True,
                      help='time the layers (--no-layers: the steps only)')
  args = parser.parse_args()
  rows = []
  if args.layers:
    print('| layer | input | output | phases ms | winograd ms | phases / winograd | '
          'largest difference (of the largest value) | auto |')
    print('| --- | --- | --- | --- | --- | --- | --- | --- |')
  for name, batch, size, c_in, c_out in LAYERS if args.layers else ():
    row = {'layer': name, 'batch': batch, 'size': size, 'in': c_in, 'out': c_out,
           **time_layer(batch, size, c_in, c_out, args.rounds)}
    rows.append(row)
    print(f"| {name} | {size}x{size}x{c_in} | {2 * size}x{2 * size}x{c_out} | "
          f"{row['phases_ms']:.1f} | {row['winograd_ms']:.1f} | "
          f"{row['phases_ms'] / row['winograd_ms']:.2f} | {row['largest_difference']:.1e} | "
          f"{row['auto']} |", flush=True)
  steps = []
  if args.steps:
    print('\n| train step | phases everywhere ms | auto ms | phases / auto |\n'
          '| --- | --- | --- | --- |')
  for case in filter(None, args.steps.split(',')):
    row = {'case': case, **time_step(case, args.rounds)}
    steps.append(row)
    print(f"| {case} | {row['phases_ms']:.1f} | {row['auto_ms']:.1f} | "
          f"{row['phases_ms'] / row['auto_ms']:.2f} |", flush=True)
  out = Path(args.out)
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps({'jax': jax.__version__, 'backend': jax.default_backend(),
                             'rounds': args.rounds, 'layers': rows, 'steps': steps},
                            indent=1) + '\n')


if __name__ == '__main__':
  main()
