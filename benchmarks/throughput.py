"""Train-step throughput of jaxgan presets: median over timed steps after warm-up.

  python benchmarks/throughput.py [--steps 10] [--cases dcgan64:8,dcgan64:32,dcgan32:32]
  [--json results.json]

Each case: compile time of the first step, then `--steps` steps timed one by one with
`block_until_ready`; reports the median. Beside it, the input pipeline's images/s at the same
image size and batch (`benchmarks/loader.py`). Runs unchanged on CPU, GPU and TPU.
"""

import argparse
import json
import platform

import jax
import numpy as np
from timing import compile_and_warm_up, median, step_times

import loader

from jaxgan import configs, nets
from jaxgan.train import init_state, make_step


def time_case(preset: str, batch_size: int, steps: int) -> dict:
  config = configs.get(preset).replace(batch_size=batch_size)
  generator, discriminator = nets.build(config)
  state = init_state(config, generator, discriminator)
  step = jax.jit(make_step(config, generator, discriminator), donate_argnums=0)
  shape = (batch_size, config.image_size, config.image_size, config.channels)
  images = jax.device_put(np.random.default_rng(0).integers(0, 256, shape, dtype=np.uint8))

  state, compile_s = compile_and_warm_up(step, state, images)
  _, times = step_times(step, state, images, steps)
  seconds = median(times)
  return {'preset': preset, 'batch_size': batch_size, 'compile_s': round(compile_s, 2),
          'ms_per_step': round(seconds * 1e3, 1), 'img_per_s': round(batch_size / seconds, 1)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--steps', type=int, default=10)
  parser.add_argument('--cases', default='dcgan64:8,dcgan64:32,dcgan32:32')
  parser.add_argument('--json', help='also write the results here')
  parser.add_argument('--loader-images', type=int, default=512,
                      help='synthetic CelebA-like JPEGs to time the input pipeline on')
  args = parser.parse_args()
  device = jax.devices()[0]
  print(f'jax {jax.__version__} on {len(jax.devices())} x {device.device_kind} '
        f'({platform.processor() or platform.machine()})')
  cases = [(preset, int(batch)) for preset, batch in
           (case.split(':') for case in args.cases.split(','))]
  loaders = {}  # image size -> loader.measure(...) for the cases' batch sizes
  for size in {configs.get(preset).image_size for preset, _ in cases}:
    batch_sizes = {b for p, b in cases if configs.get(p).image_size == size}
    loaders[size] = loader.measure(args.loader_images, size, sorted(batch_sizes))
  results = []
  print(f'{"preset":10} {"batch":>5} {"compile s":>9} {"ms/step":>8} {"img/s":>7} '
        f'{"loader img/s: folder":>20} {"tfds":>6}')
  for preset, batch in cases:
    row = time_case(preset, batch, args.steps)
    measured = loaders[configs.get(preset).image_size]
    row['loader_img_per_s'] = {'folder_cache': round(measured['folder'][batch]),
                               'tfds': round(measured['tfds'][batch])}
    results.append(row)
    print(f'{row["preset"]:10} {row["batch_size"]:5} {row["compile_s"]:9} '
          f'{row["ms_per_step"]:8} {row["img_per_s"]:7} '
          f'{row["loader_img_per_s"]["folder_cache"]:20} {row["loader_img_per_s"]["tfds"]:6}')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump({'jax': jax.__version__, 'device': device.device_kind, 'results': results}, f,
                indent=2)


if __name__ == '__main__':
  main()
