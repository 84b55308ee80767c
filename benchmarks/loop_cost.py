"""The training loop's own cost per step: the real `jaxgan.train.run` against its compiled step
called back to back on batches already on the devices, preset by preset, in one run.

  python benchmarks/loop_cost.py [--presets digits,mlp2d,...] [--intervals 4] [--steps 25]
                                 [--out benchmarks/results/loop_cost.json]

For each preset, the same config, data and devices (`DataParallel()`, every local device):

- the step alone: the game's step (its first stage's) compiled as the loop compiles it, called
  on `--steps` batches already on the devices, then `block_until_ready`: its median over
  `--intervals` such runs, after one more as warm-up;
- the loop: `train.run` for (intervals + 1) x steps steps, logging every `--steps` steps, no
  sampling, checkpoint or evaluation inside the timed span (those are costs of their own, paid at
  their cadence): each logged interval's img/s, which covers everything the loop does between
  two logs (reading and sending batches, dispatching the step, the signal and schedule checks,
  the log's fetch from the devices), the first interval (compilation) left out; its median.

The loop's cost is the difference, in milliseconds per step (what an accelerator, whose step is
far shorter than a CPU's, would feel) and as a share of the step (the target is at most 2%). On
a step of 100 ms or more the difference is below what a 2-core CPU resolves between two timings
(a few percent either way); the millisecond-scale step of `mlp2d` shows the cost itself.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jaxgan import configs, data, games  # noqa: E402
from jaxgan.parallel import AXIS, DataParallel  # noqa: E402
from jaxgan.train import _image_sizes, run  # noqa: E402

PRESETS = ('digits', 'mlp2d', 'wgan_gp', 'conditional', 'pggan', 'pix2pix', 'cyclegan')
FAR = 10 ** 9  # a cadence beyond the run


def timed_config(preset: str, steps: int, intervals: int):
  config = configs.get(preset)
  return config.replace(steps=steps * (intervals + 1), log_every=steps, sample_every=FAR,
                        checkpoint_every=FAR, eval_every=0)


def step_alone(config, steps: int, intervals: int) -> float:
  """Median seconds per step of the compiled step on device-resident batches."""
  parallel = DataParallel()
  dataset = data.for_config(config, report=lambda line: None)
  if config.conditional:
    config = config.replace(classes=dataset.classes)
  game = games.build(config)
  rows = config.batch_size * config.n_critic
  batches = data.EpochBatches(dataset.examples, rows, config.seed, config.hflip,
                              rows=parallel.process_rows(rows),
                              image_size=_image_sizes(game, config.steps))
  on_devices = [parallel.shard_batch(batches.batch(i)) for i in range(steps)]
  step = parallel.compile(game.make_step(axis_name=AXIS, stage=0))
  state = parallel.replicate(game.init(jax.random.key(config.seed)))
  times = []
  for _ in range(intervals + 1):  # the first (compilation, warm-up) left out, as the loop's
    start = time.perf_counter()
    for batch in on_devices:
      state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times[1:])


def loop(config, steps: int) -> float:
  """Median seconds per step of `train.run`'s logged intervals after the first."""
  with tempfile.TemporaryDirectory() as workdir:
    run(config, workdir, progress=False)
    records = [json.loads(line) for line in (Path(workdir) / 'metrics.jsonl').open()]
  rates = [record['img_per_s'] for record in records[1:]]
  return statistics.median(config.batch_size / rate for rate in rates)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--presets', default=','.join(PRESETS))
  parser.add_argument('--steps', type=int, default=25, help='steps per timed interval')
  parser.add_argument('--intervals', type=int, default=4)
  parser.add_argument('--out', metavar='FILE.json')
  args = parser.parse_args()
  rows = []
  print('| preset | batch | step alone ms | loop ms/step | loop cost ms/step | loop cost % |')
  print('| --- | --- | --- | --- | --- | --- |')
  for preset in args.presets.split(','):
    config = timed_config(preset, args.steps, args.intervals)
    alone = step_alone(config, args.steps, args.intervals)
    looped = loop(config, args.steps)
    row = {'preset': preset, 'batch_size': config.batch_size, 'step_ms': 1e3 * alone,
           'loop_ms': 1e3 * looped, 'cost_ms': 1e3 * (looped - alone),
           'cost_percent': 100 * (looped / alone - 1)}
    rows.append(row)
    print(f'| `{preset}` | {row["batch_size"]} | {row["step_ms"]:.2f} | {row["loop_ms"]:.2f} | '
          f'{row["cost_ms"]:+.2f} | {row["cost_percent"]:+.1f}% |', flush=True)
  if args.out:
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({'device': jax.devices()[0].device_kind,
                                          'jax': jax.__version__, 'steps': args.steps,
                                          'intervals': args.intervals, 'rows': rows},
                                         indent=2) + '\n')


if __name__ == '__main__':
  main()
