"""Data-parallel overhead: one fixed global batch over 1, 2, 4 and 8 devices, shard_map vs pmap.

  python benchmarks/scaling.py [--preset digits] [--batch-size 64] [--devices 1,2,4,8]
  [--rounds 5] [--steps 4] [--json scaling.json]

On a CPU it re-runs itself with 8 simulated devices (XLA_FLAGS), which share the same cores: the
table then measures the cost of splitting the step, not a speed-up. On a multi-GPU or TPU host the
same command uses the real devices. Cases are timed in interleaved rounds (each round runs
`--steps` steps of every case); the table reports the median step time over all rounds, and the
plain jitted one-device step as the baseline.
"""

import argparse
import json
import os
import subprocess
import sys
from jaxgan import families

SIMULATED = '--xla_force_host_platform_device_count=8'


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--preset', default='digits')
  parser.add_argument('--batch-size', type=int, default=64, help='global batch size')
  parser.add_argument('--devices', default='1,2,4,8', help='device counts to time')
  parser.add_argument('--rounds', type=int, default=5)
  parser.add_argument('--steps', type=int, default=4, help='timed steps per case and round')
  parser.add_argument('--json', help='also write the results here')
  args = parser.parse_args()
  if 'JAX_PLATFORMS' not in os.environ and SIMULATED not in os.environ.get('XLA_FLAGS', ''):
    import jax  # a fresh process, so this initialises nothing the child needs
    if jax.default_backend() == 'cpu':
      env = {**os.environ, 'XLA_FLAGS': f'{os.environ.get("XLA_FLAGS", "")} {SIMULATED}'}
      sys.exit(subprocess.call([sys.executable, *sys.argv], env=env))
  run(args)


def run(args):
  import jax
  import numpy as np

  from jaxgan import configs, parallel
  from timing import compile_and_warm_up, median, step_times

  config = configs.get(args.preset).replace(batch_size=args.batch_size)
  game = families.game(config)
  shape = (args.batch_size, config.image_size, config.image_size, config.channels)
  images = {'image': np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8)}
  counts = [n for n in map(int, args.devices.split(',')) if n <= jax.local_device_count()]

  cases = {}  # name -> [step, state, batch, times]
  plain = jax.jit(game.make_step(), donate_argnums=0)
  cases['jit', 1] = [plain, game.init(jax.random.key(config.seed)), jax.device_put(images)]
  for mode in parallel.MODES:
    for count in counts:
      data_parallel = parallel.DataParallel(mode, parallel.select_devices(count))
      step = data_parallel.compile(game.make_step(axis_name=parallel.AXIS))
      state = data_parallel.replicate(game.init(jax.random.key(config.seed)))
      cases[mode, count] = [step, state, data_parallel.shard_batch(images)]
  compile_s = {}
  for name, case in cases.items():
    case[1], compile_s[name] = compile_and_warm_up(*case)
    case.append([])
  for _ in range(args.rounds):
    for case in cases.values():
      case[1], times = step_times(case[0], case[1], case[2], args.steps)
      case[3].extend(times)

  baseline = median(cases['jit', 1][3])
  device = jax.devices()[0]
  print(f'{args.preset}, global batch {args.batch_size}, jax {jax.__version__}, '
        f'{jax.device_count()} x {device.device_kind}; median of {args.rounds * args.steps} steps')
  print(f'{"wrapper":10} {"devices":>7} {"compile s":>9} {"ms/step":>8} {"img/s":>7} '
        f'{"vs jit":>6}')
  results = []
  for (mode, count), case in cases.items():
    seconds = median(case[3])
    row = {'wrapper': mode, 'devices': count, 'compile_s': round(compile_s[mode, count], 2),
           'ms_per_step': round(seconds * 1e3, 1),
           'img_per_s': round(args.batch_size / seconds, 1),
           'vs_jit': round(baseline / seconds, 2)}
    results.append(row)
    print(f'{mode:10} {count:7} {row["compile_s"]:9} {row["ms_per_step"]:8} '
          f'{row["img_per_s"]:7} {row["vs_jit"]:6}')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump({'jax': jax.__version__, 'device': device.device_kind, 'preset': args.preset,
                 'batch_size': args.batch_size, 'results': results}, f, indent=2)


if __name__ == '__main__':
  main()
