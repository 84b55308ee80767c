"""The training loop's own cost per step: the real `jaxgan.train.run` against its compiled step
called back to back on batches already on the devices, preset by preset, in one run.

  python benchmarks/loop_cost.py [--presets digits,mlp2d,...] [--rounds 3] [--intervals 4]
                                 [--steps 25] [--steps-per-call K]
                                 [--out benchmarks/results/loop_cost.json]
  python benchmarks/loop_cost.py --parts [--presets mlp2d,digits]

For each preset, the same config, data, devices (`DataParallel()`, every local device) and
compiled program (the run's own: `train.run` keeps a process's recent programs), timed in
`--rounds` interleaved rounds, each of:

- the step alone: the game's step (its first stage's) called on `--steps` batches already on
  the devices, then `block_until_ready`: its median over `--intervals` such runs, after one
  more as warm-up;
- the loop: `train.run` for (intervals + 1) x steps steps, logging every `--steps` steps, no
  sampling, checkpoint or evaluation inside the timed span (those are costs of their own, paid at
  their cadence): each logged interval's img/s, which covers everything the loop does between
  two logs (reading and sending batches, dispatching the step, the signal and schedule checks,
  the log's fetch from the devices), the first interval left out; its median.

With `--steps-per-call K`, the loop hands the devices K steps a call (`train.run`'s
`steps_per_call`) and the step alone is still called once a step: what the loop then saves or
costs against the plain way of calling a step.

The loop's cost is the median over the rounds of their differences, in milliseconds per step
(what an accelerator, whose step is far shorter than a CPU's, would feel) and as a share of the
step (the target is at most 2%). On a step of 100 ms or more the difference is below what a
2-core CPU resolves between two timings (a few percent either way); the millisecond-scale step
of `mlp2d` shows the cost itself, and `--parts` times each part of the loop's host-side work
on a step alone, which no device noise blurs.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

import grain
import jax

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jaxgan import configs, families  # noqa: E402
from jaxgan.parallel import DataParallel  # noqa: E402
from jaxgan.train import _programs_for, batches_for, run  # noqa: E402

PRESETS = ('digits', 'mlp2d', 'wgan_gp', 'conditional', 'pggan', 'pix2pix', 'cyclegan')
FAR = 10 ** 9  # a cadence beyond the run


def timed_config(preset: str, steps: int, intervals: int):
  config = configs.get(preset)
  return config.replace(steps=steps * (intervals + 1), log_every=steps, sample_every=FAR,
                        checkpoint_every=FAR, eval_every=0)


def as_the_run_has_them(config):
  """(devices, the run's programs, its batches), as `train.run` makes them for `config`."""
  parallel = DataParallel()
  dataset = families.of(config).dataset(config, report=lambda line: None)
  if getattr(config, 'conditional', False):
    config = config.replace(classes=dataset.classes)
  programs = _programs_for(config, None, parallel)
  return parallel, programs, batches_for(config, dataset.examples, programs.game, parallel)


def step_alone(config, steps: int, intervals: int) -> float:
  """Median seconds per step of the run's compiled step on device-resident batches."""
  parallel, programs, batches = as_the_run_has_them(config)
  on_devices = parallel.shard_batches([batches.batch(i) for i in range(steps)])
  step = programs.train_step(0)
  state = parallel.replicate(programs.game.init(jax.random.key(config.seed)))
  times = []
  for _ in range(intervals + 1):  # the first (compilation, warm-up) left out, as the loop's
    start = time.perf_counter()
    for batch in on_devices:
      state, metrics = step(state, batch)
    jax.block_until_ready((state, metrics))
    times.append((time.perf_counter() - start) / steps)
  return statistics.median(times[1:])


def loop(config, steps: int, steps_per_call: int = 1) -> float:
  """Median seconds per step of `train.run`'s logged intervals after the first."""
  with tempfile.TemporaryDirectory() as workdir:
    run(config, workdir, progress=False, steps_per_call=steps_per_call)
    records = [json.loads(line) for line in (Path(workdir) / 'metrics.jsonl').open()]
  rates = [record['img_per_s'] for record in records[1:]]
  return statistics.median(config.batch_size / rate for rate in rates)


def host_parts(config, repeats: int) -> dict:
  """Microseconds of host time per step for each part of the loop's work on a step, timed alone
  (`timeit`, `repeats` steps): what an accelerator whose step is shorter would wait for. Reads
  and sends as the loop does them, several steps at a time (`EpochBatches.reads`,
  `DataParallel.shard_batches`), and as one step at a time for comparison."""
  parallel, _, batches = as_the_run_has_them(config)
  per_read, batch = batches.steps_per_read(), batches.batch(0)
  one_an_element = grain.MapDataset.range(10 ** 9).map(batches.batch).to_iter_dataset(
      grain.ReadOptions(num_threads=1, prefetch_buffer_size=2))
  reads = [batches.reads(0), iter(one_an_element)]
  read = [batch] * per_read

  def guarded():
    with jax.transfer_guard('disallow'):
      pass
  parts = {'Grain read, per step (as the loop reads)': (lambda: next(reads[0]), per_read),
           'Grain read, one step an element': (lambda: next(reads[1]), 1),
           'send to the devices, per step (a read\'s batches in one call)':
               (lambda: parallel.shard_batches(read), per_read),
           'send to the devices, one batch a call': (lambda: parallel.shard_batch(batch), 1),
           'transfer guard, entered and left': (guarded, 1)}
  times = {}
  for name, (part, steps) in parts.items():
    part()
    times[name] = 1e6 * timeit.timeit(part, number=repeats // steps) / (repeats // steps) / steps
  for stream in reads:
    stream.close()
  return times


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--presets', default=','.join(PRESETS))
  parser.add_argument('--steps', type=int, default=25, help='steps per timed interval')
  parser.add_argument('--intervals', type=int, default=4)
  parser.add_argument('--rounds', type=int, default=3, help='interleaved rounds of both timings')
  parser.add_argument('--steps-per-call', type=int, default=1, metavar='K',
                      help="the loop's steps per call (train.run's steps_per_call)")
  parser.add_argument('--out', metavar='FILE.json')
  parser.add_argument('--parts', action='store_true',
                      help="instead: the host time of each part of the loop's work on a step")
  parser.add_argument('--repeats', type=int, default=4000, help='steps timed per part (--parts)')
  args = parser.parse_args()
  if args.parts:
    print('| preset | part | host us/step |')
    print('| --- | --- | --- |')
    for preset in args.presets.split(','):
      for name, micros in host_parts(configs.get(preset), args.repeats).items():
        print(f'| `{preset}` | {name} | {micros:.1f} |', flush=True)
    return
  rows = []
  print('| preset | batch | step alone ms | loop ms/step | loop cost ms/step | loop cost % |')
  print('| --- | --- | --- | --- | --- | --- |')
  for preset in args.presets.split(','):
    config = timed_config(preset, args.steps, args.intervals)
    alone, looped = [], []
    for _ in range(args.rounds):
      alone.append(step_alone(config, args.steps, args.intervals))
      looped.append(loop(config, args.steps, args.steps_per_call))
    cost = statistics.median(b - a for a, b in zip(alone, looped))
    step = statistics.median(alone)
    row = {'preset': preset, 'batch_size': config.batch_size, 'step_ms': 1e3 * step,
           'loop_ms': 1e3 * statistics.median(looped), 'cost_ms': 1e3 * cost,
           'cost_percent': 100 * cost / step,
           'rounds_cost_ms': [round(1e3 * (b - a), 3) for a, b in zip(alone, looped)]}
    rows.append(row)
    print(f'| `{preset}` | {row["batch_size"]} | {row["step_ms"]:.2f} | {row["loop_ms"]:.2f} | '
          f'{row["cost_ms"]:+.2f} | {row["cost_percent"]:+.1f}% |', flush=True)
  if args.out:
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({'device': jax.devices()[0].device_kind,
                                          'jax': jax.__version__, 'steps': args.steps,
                                          'intervals': args.intervals, 'rounds': args.rounds,
                                          'steps_per_call': args.steps_per_call,
                                          'rows': rows},
                                         indent=2) + '\n')


if __name__ == '__main__':
  main()
