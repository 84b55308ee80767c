"""One framework's train step in a process of its own, timed when the driver asks.

  python benchmarks/worker.py FRAMEWORK SPEC_JSON

Builds the step (`benchmarks/frameworks/FRAMEWORK_step.py`) on one fixed batch of images, the
same for every framework, and runs it twice (the first run includes building, compiling or
tracing); prints one JSON line of facts. Then, for each line N read from stdin, it times N steps
one by one and prints their seconds and the peak memory so far as one JSON line.
"""

import importlib
import json
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent / 'frameworks'))


def peak_host_mb() -> float:
  return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux reports KiB


def real_batch(spec) -> np.ndarray:
  """The one fixed batch of real samples every framework's step trains on: uint8 images, or
  float32 2-D points for the `mlp2d` architecture (which no peer implements)."""
  rng = np.random.default_rng(0)
  if spec['arch'] == 'mlp2d':
    return rng.standard_normal((spec['batch_size'], 2)).astype(np.float32)
  shape = (spec['batch_size'], spec['image_size'], spec['image_size'], spec['channels'])
  return rng.integers(0, 256, shape, dtype=np.uint8)


def main():
  framework, spec = sys.argv[1], json.loads(sys.argv[2])
  module = importlib.import_module(f'{framework}_step')
  images = real_batch(spec)
  start = time.perf_counter()
  step, facts = module.make_step(spec, images)
  step()
  first_step_s = time.perf_counter() - start
  step()
  print(json.dumps({'version': module.VERSION, 'first_step_s': first_step_s, **facts}),
        flush=True)
  peak_device_mb = getattr(module, 'peak_device_mb', lambda: None)
  for line in sys.stdin:
    times = []
    for _ in range(int(line)):
      start = time.perf_counter()
      step()
      times.append(time.perf_counter() - start)
    print(json.dumps({'times': times, 'peak_host_mb': peak_host_mb(),
                      'peak_device_mb': peak_device_mb()}), flush=True)


if __name__ == '__main__':
  main()
