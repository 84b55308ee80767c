"""Mode collapse on 2-D mixtures: the `mlp2d` preset over several seeds, beside published figures.

  python benchmarks/modes.py [--seeds 5] [--datasets grid25,ring8] [--steps N] [--json F]

Each run is `python train.py --config mlp2d --dataset D --seed S` as a user runs it (through
`jaxgan.train.run`), scored on 2,500 samples by `jaxgan.evaluate.modes` (the protocol of VEEGAN
and PacGAN: high quality = within 3 standard deviations of the nearest mode). The table gives
mean and standard deviation over seeds.
"""

import argparse
import json
import statistics
import tempfile
import time

from jaxgan import configs, train

# PacGAN (Lin et al. 2018), as cited in jaxgan's issue #7: modes captured, % high quality.
PUBLISHED = {
    'grid25': [('GAN', 17.3, 94.8), ('PacGAN4', 24.8, 93.6)],
    'ring8': [('PacGAN2', 7.9, 95.6)],
}
TARGETS = {'grid25': (25, 95.0), 'ring8': (8, 97.0)}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--seeds', type=int, default=5)
  parser.add_argument('--datasets', default='grid25,ring8')
  parser.add_argument('--steps', type=int, help="training steps (default: the preset's)")
  parser.add_argument('--json', help='also write the results here')
  args = parser.parse_args()
  results = {}
  for dataset in args.datasets.split(','):
    runs = []
    for seed in range(args.seeds):
      config = configs.get('mlp2d').replace(dataset=dataset, seed=seed)
      if args.steps:
        config = config.replace(steps=args.steps)
      start = time.perf_counter()
      with tempfile.TemporaryDirectory() as workdir:
        check = train.run(config, workdir, progress=False)['modes_check']
      check['seconds'] = time.perf_counter() - start
      runs.append(check)
      print(f'{dataset} seed {seed}: {check["modes"]} modes, '
            f'{100 * check["high_quality"]:.1f}% high quality, reverse KL '
            f'{check["reverse_kl"]:.3f} ({check["seconds"]:.0f} s)', flush=True)
    results[dataset] = runs

  print(f'\n{"dataset":8} {"method":22} {"modes":>12} {"high quality %":>15} {"reverse KL":>12}')
  for dataset, runs in results.items():
    for name, modes, quality in PUBLISHED[dataset]:
      print(f'{dataset:8} {name + " (published)":22} {modes:12.1f} {quality:15.1f} {"-":>12}')
    print(f'{dataset:8} {"jaxgan mlp2d":22} {_spread(runs, "modes"):>12} '
          f'{_spread(runs, "high_quality", 100):>15} {_spread(runs, "reverse_kl", digits=3):>12}')
    modes, quality = TARGETS[dataset]
    print(f'{dataset:8} {"target":22} {modes:12} {">= " + str(quality):>15}')
  if args.json:
    with open(args.json, 'w') as f:
      json.dump(results, f, indent=2)


def _spread(runs, key, scale=1.0, digits=1):
  values = [scale * run[key] for run in runs]
  std = statistics.stdev(values) if len(values) > 1 else 0.0
  return f'{statistics.mean(values):.{digits}f} ± {std:.{digits}f}'


if __name__ == '__main__':
  main()
