"""Train-step throughput: jaxgan against the keras.io example's Keras code and PyTorch.

  python benchmarks/throughput.py [--cases dcgan64:8,dcgan64:32,dcgan32:32,pggan:64@2]
      [--dtypes float32,bfloat16] [--frameworks jaxgan,keras,torch] [--rounds 4]
      [--steps 3] [--out benchmarks/results]

For each case (preset:batch) and dtype, every framework builds the same network and recipe in a
process of its own (`worker.py`) on the same batch of images; after two warm-up steps the
workers take turns, `--rounds` times `--steps` steps each, so that slow drifts of the machine
hit all of them alike. `@STAGE` times a progressive preset's step at that stage (its state
grown to it, its images at that stage's size). Reported: the median step and the mean one (for
a recipe whose lazy regularization steps cost more, such as StyleGAN2's, the mean over a
multiple of their interval, `--steps 16`, is its throughput), images/s at the median, the ratio
to the faster peer, the first step's time (jaxgan: also its compile time), peak memory, and the
useful FLOP/s (`flops.py`) against the float32 (and bfloat16) matmul peak measured by JAX at the
start of the same run. Writes `throughput.json`, `throughput.png` and each worker's log to `--out`.
Keras (TensorFlow) and PyTorch come with `pip install -e '.[bench]'`; a framework that is not
installed is skipped with a message. Runs unchanged on GPU and TPU: JAX uses
`jax.devices()[0]`, PyTorch CUDA when it has it, TensorFlow whatever it finds.
"""

import argparse
import importlib.util
import json
import os
import platform
import re
import statistics
import subprocess
import sys
import time
from pathlib import Path

import jax
import jax.numpy as jnp

from jaxgan import configs, families
from jaxgan.commands.common import positive_int

from flops import step_flops

HERE = Path(__file__).parent
PEERS = {'keras': 'tensorflow', 'torch': 'torch'}  # framework -> the module it needs
# framework -> the architectures its peer implements: Keras the keras.io example's DCGAN, PyTorch
# also the reference's pix2pix and CycleGAN (`frameworks/torch_translation.py`)
PEER_ARCHS = {'keras': ('dcgan',), 'torch': ('dcgan', 'pix2pix', 'cyclegan')}
FRAMEWORKS = {'jaxgan', *PEERS}


def matmul_peak(dtype, size=4096, repeats=10) -> float:
  """FLOP/s of the best of `repeats` jitted size x size products, accumulated in float32, of
  random values (constant ones or zeros can run faster than real data on a GPU)."""
  a = jax.random.normal(jax.random.key(0), (size, size), dtype)
  product = jax.jit(lambda a: jnp.dot(a, a, preferred_element_type=jnp.float32))
  product(a).block_until_ready()
  times = []
  for _ in range(repeats):
    start = time.perf_counter()
    product(a).block_until_ready()
    times.append(time.perf_counter() - start)
  return 2 * size ** 3 / min(times)


class Worker:
  """One framework's step in its own process (see `worker.py`)."""

  def __init__(self, framework: str, spec: dict, log: Path):
    self.framework = framework
    self.log = log
    with open(log, 'w') as stderr:  # TensorFlow logs a lot, even when told not to
      self.process = subprocess.Popen(
          [sys.executable, str(HERE / 'worker.py'), framework, json.dumps(spec)],
          stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=stderr, text=True)
    self.facts = self._reply()
    self.times = []
    self.memory = {}

  def _reply(self) -> dict:
    line = self.process.stdout.readline()
    if not line:
      raise RuntimeError(f'the {self.framework} worker exited ({self.process.wait()}):\n'
                         + self.log.read_text()[-3000:])
    return json.loads(line)

  def time_steps(self, steps: int):
    self.process.stdin.write(f'{steps}\n')
    self.process.stdin.flush()
    reply = self._reply()
    self.times += reply.pop('times')
    self.memory = reply

  def close(self):
    self.process.stdin.close()
    self.process.wait()


def parse_case(text: str) -> tuple[str, int, int]:
  """'PRESET:BATCH[@STAGE]' -> (preset, batch size, stage); ValueError when it is not."""
  case = re.fullmatch(r'(\w+):(\d+)(?:@(\d+))?', text)
  if not case:
    raise ValueError(f'not PRESET:BATCH[@STAGE]: {text!r}')
  preset, batch_size, stage = case.groups()
  return preset, int(batch_size), int(stage or 0)


def case_spec(preset: str, batch_size: int, dtype: str, stage: int = 0):
  """(the config, the spec `worker.py` builds the step from) of one case."""
  config = configs.get(preset).replace(batch_size=batch_size, dtype=dtype)
  if getattr(config, 'conditional', False) and not config.classes:  # a run takes them from its dataset: ten here
    config = config.replace(classes=tuple(str(digit) for digit in range(10)))
  size = families.game(config).image_size(stage) or config.image_size
  return config, {**config.to_dict(), 'preset': preset, 'stage': stage,
                  'image_size': size}


def run_case(preset: str, batch_size: int, dtype: str, frameworks, rounds: int, steps: int,
             out: Path, stage: int = 0):
  config, spec = case_spec(preset, batch_size, dtype, stage)
  size = spec['image_size']
  for framework in [f for f in frameworks if f != 'jaxgan' and config.arch not in PEER_ARCHS[f]]:
    print(f'{preset}: no {framework} peer (it implements {", ".join(PEER_ARCHS[framework])})')
    frameworks = [f for f in frameworks if f != framework]
  workers = [Worker(framework, spec, out / f'{framework}.log') for framework in frameworks]
  try:
    for _ in range(rounds):
      for worker in workers:
        worker.time_steps(steps)
  finally:
    for worker in workers:
      worker.close()
  flops = step_flops(config) if config.arch == 'dcgan' else None  # counted for DCGAN only
  rows = []
  for worker in workers:
    seconds = statistics.median(worker.times)
    rows.append({
        'preset': preset, 'batch_size': batch_size, 'dtype': dtype, 'stage': stage,
        'image_size': size,
        'framework': worker.framework, 'version': worker.facts['version'],
        'steps_timed': len(worker.times), 'ms_per_step': seconds * 1e3,
        'mean_ms_per_step': statistics.mean(worker.times) * 1e3,
        'img_per_s': batch_size / seconds, 'first_step_s': worker.facts['first_step_s'],
        'compile_s': worker.facts.get('compile_s'), 'xla_flops': worker.facts.get('xla_flops'),
        'useful_gflop_per_step': flops and flops / 1e9,
        'useful_gflop_per_s': flops and flops / seconds / 1e9,
        'peak_host_mb': worker.memory['peak_host_mb'],
        'peak_device_mb': worker.memory['peak_device_mb']})
  peers = [row['img_per_s'] for row in rows if row['framework'] != 'jaxgan']
  ours = [row['img_per_s'] for row in rows if row['framework'] == 'jaxgan']
  for row in rows:
    if ours and peers:
      row['jaxgan_ratio'] = ours[0] / (max(peers) if row['framework'] == 'jaxgan'
                                       else row['img_per_s'])
  return rows


def available(frameworks):
  chosen = []
  for framework in frameworks:
    needed = PEERS.get(framework)
    if needed and importlib.util.find_spec(needed) is None:
      print(f'{framework}: skipped, {needed} is not installed (pip install -e ".[bench]")')
    else:
      chosen.append(framework)
  return chosen


def _case_name(row) -> str:
  return f'{row["preset"]}:{row["batch_size"]}' + (f'@{row["stage"]}' if row.get('stage') else '')


def print_table(rows, peaks):
  header = (f'{"case":12} {"dtype":8} {"framework":9} {"ms/step":>8} {"mean ms":>8} {"img/s":>7} '
            f'{"jaxgan x":>8} {"1st step s":>10} {"compile s":>9} {"GFLOP/s":>7} '
            f'{"% peak":>6} {"host MB":>7}')
  print(header)
  for row in rows:
    ratio = f'{row["jaxgan_ratio"]:.2f}' if 'jaxgan_ratio' in row else '-'
    compile_s = f'{row["compile_s"]:.1f}' if row['compile_s'] is not None else '-'
    useful = row['useful_gflop_per_s']
    rate = f'{useful:7.1f}' if useful else f'{"-":>7}'
    share = f'{100 * useful * 1e9 / peaks[row["dtype"]]:6.0f}' if useful else f'{"-":>6}'
    print(f'{_case_name(row):12} {row["dtype"]:8} '
          f'{row["framework"]:9} {row["ms_per_step"]:8.1f} {row["mean_ms_per_step"]:8.1f} '
          f'{row["img_per_s"]:7.2f} {ratio:>8} '
          f'{row["first_step_s"]:10.1f} {compile_s:>9} {rate} {share} '
          f'{row["peak_host_mb"]:7.0f}')


def plot(rows, path: Path) -> bool:
  """Draws the images/s of every row as grouped bars into `path`; False without matplotlib."""
  try:
    import matplotlib
    matplotlib.use('Agg')
    from matplotlib import pyplot as plt
  except ImportError:
    print('no chart: matplotlib is not installed (pip install -e ".[bench]")')
    return False
  cases = list(dict.fromkeys((_case_name(r), r['dtype']) for r in rows))
  frameworks = list(dict.fromkeys(r['framework'] for r in rows))
  names = {'jaxgan': 'jaxgan', 'keras': 'Keras', 'torch': 'PyTorch'}
  width = 0.8 / len(frameworks)
  fig, ax = plt.subplots(figsize=(1.6 + 1.4 * len(cases), 4))
  for i, framework in enumerate(frameworks):
    speeds = [next((r['img_per_s'] for r in rows if r['framework'] == framework
                    and (_case_name(r), r['dtype']) == case), 0) for case in cases]
    ax.bar([c + i * width for c in range(len(cases))], speeds, width, label=names[framework])
  ax.set_xticks([c + 0.4 - width / 2 for c in range(len(cases))],
                [f'{name}\n{d}' for name, d in cases])
  ax.set_yscale('log')
  ax.set_ylabel('train step, images/s (log)')
  ax.set_title(f'{jax.devices()[0].device_kind}: '
               + ' vs '.join(names[framework] for framework in frameworks))
  ax.legend()
  fig.tight_layout()
  fig.savefig(path, dpi=120)
  return True


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--cases', default='dcgan64:8,dcgan64:32,dcgan32:32')
  parser.add_argument('--dtypes', default='float32,bfloat16')
  parser.add_argument('--frameworks', default='jaxgan,keras,torch')
  parser.add_argument('--rounds', type=positive_int, default=4, help='turns each worker takes')
  parser.add_argument('--steps', type=positive_int, default=3, help='steps timed per turn')
  parser.add_argument('--out', type=Path, default=HERE / 'results')
  parser.add_argument('--peak-size', type=positive_int, default=4096,
                      help='side of the square matmul that measures the peak (smaller: quicker, '
                           'lower)')
  args = parser.parse_args()
  try:
    cases = [parse_case(case) for case in args.cases.split(',')]
  except ValueError:
    parser.error(f'--cases wants PRESET:BATCH[@STAGE],..., got {args.cases!r}')
  dtypes = args.dtypes.split(',')
  try:  # the configs check presets, batch sizes and dtypes themselves
    for preset, batch, _ in cases:
      for dtype in dtypes:
        configs.get(preset).replace(batch_size=batch, dtype=dtype)
  except (KeyError, ValueError) as error:
    parser.error(error.args[0])
  if unknown := set(args.frameworks.split(',')) - FRAMEWORKS:
    parser.error(f'unknown framework {", ".join(sorted(unknown))}; known: '
                 f'{", ".join(sorted(FRAMEWORKS))}')
  frameworks = available(args.frameworks.split(','))
  device = jax.devices()[0]
  machine = {'device': device.device_kind, 'device_count': len(jax.devices()),
             'processor': platform.processor() or platform.machine(),
             'cpu_count': os.cpu_count(), 'python': platform.python_version()}
  peaks = {dtype: matmul_peak(jnp.dtype(dtype), args.peak_size) for dtype in dtypes}
  print(f'{machine["device"]} ({machine["cpu_count"]} CPUs); matmul peak measured by JAX: '
        + ', '.join(f'{d} {p / 1e9:.0f} GFLOP/s' for d, p in peaks.items()))
  args.out.mkdir(parents=True, exist_ok=True)
  rows = []
  try:
    for preset, batch, stage in cases:
      for dtype in dtypes:
        rows += run_case(preset, batch, dtype, frameworks, args.rounds, args.steps, args.out,
                         stage)
  except RuntimeError as error:  # a worker failed; its log's tail is in the message
    sys.exit(f'{parser.prog}: {error}')
  print_table(rows, peaks)
  versions = dict.fromkeys(r['version'] for r in rows)
  with open(args.out / 'throughput.json', 'w') as f:
    json.dump({'machine': machine, 'versions': list(versions),
               'matmul_peak_gflop_per_s': {d: p / 1e9 for d, p in peaks.items()},
               'results': rows}, f, indent=2)
  written = [args.out / 'throughput.json']
  if plot(rows, args.out / 'throughput.png'):
    written.append(args.out / 'throughput.png')
  print('wrote', ' and '.join(map(str, written)))


if __name__ == '__main__':
  main()
