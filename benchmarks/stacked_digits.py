"""Stacked digits: the image mode-collapse benchmark of VEEGAN and PacGAN, on the embedded digits.

  python benchmarks/stacked_digits.py [--seeds 0,1] [--steps 1500] [--recipes dcgan,jaxgan]
                                     [--out FILE.json]

Three random digits stacked as the R, G and B channels make 1,000 modes (`stacked_digits`, 16x16x3,
50,000 training images). Each recipe trains from scratch per seed; 26,000 samples are labelled
channel by channel by the digits classifier (`jaxgan.evaluate.digits.stacked_modes`) and the
table gives the modes covered and KL(sample modes || uniform), mean and range over the seeds,
beside the real data (the classifier's floor) and the published figures (VEEGAN Table 2: DCGAN
99 modes, KL 3.4; PacGAN Table 3: PacDCGAN2 1,000 modes, KL 0.07; both on stacked MNIST at
28x28 with their own networks, so the comparison is of kind, not of decimals). Results go to
benchmarks/results/stacked_digits_STEPS.json unless --out names a file.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from jaxgan import configs, data  # noqa: E402
from jaxgan.evaluate import digits  # noqa: E402
from jaxgan.train import run  # noqa: E402

RESULTS = ROOT / 'benchmarks' / 'results'
BASE = configs.get('digits').replace(dataset='stacked_digits', channels=3, eval_every=0,
                                     log_every=500, checkpoint_every=10_000)
RECIPES = {
    # The keras.io example's DCGAN recipe as the digits preset trains it, without the EMA: the
    # baseline.
    'dcgan': BASE.replace(name='stacked_dcgan', ema_decay=0.0),
    # jaxgan's recipe: the non-saturating loss with R1 (gamma 0.1), DiffAugment's translation,
    # and samples from the generator's EMA.
    'jaxgan': BASE.replace(name='stacked_jaxgan', loss='non_saturating', r1_gamma=0.1,
                           augment='translation', ema_decay=0.99),
}
PUBLISHED = [('VEEGAN Table 2: DCGAN (stacked MNIST)', 99, 3.4),
             ('PacGAN Table 3: PacDCGAN2 (stacked MNIST)', 1000, 0.07)]


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--seeds', default='0,1')
  parser.add_argument('--steps', type=int, default=1500)
  parser.add_argument('--recipes', default=','.join(RECIPES))
  parser.add_argument('--out', type=Path)
  args = parser.parse_args(argv)
  out = args.out or RESULTS / f'stacked_digits_{args.steps}.json'
  seeds = [int(s) for s in args.seeds.split(',')]
  results = {'steps': args.steps, 'seeds': seeds, 'recipes': {}}
  real = data.load_dataset('stacked_digits', 16, 3)[:digits.STACKED_SAMPLES] / 255.0
  results['real'] = digits.stacked_modes(real)
  for name in args.recipes.split(','):
    runs = []
    for seed in seeds:
      config = RECIPES[name].replace(seed=seed, steps=args.steps)
      start = time.perf_counter()
      with tempfile.TemporaryDirectory() as workdir:
        summary = run(config, workdir, progress=False)
      runs.append({**summary['stacked_check'], 'seed': seed,
                   'train_s': round(time.perf_counter() - start, 1)})
      print(f'{name} seed {seed}: {runs[-1]}', flush=True)
    results['recipes'][name] = {'config': config.to_dict(), 'runs': runs}
  out.parent.mkdir(parents=True, exist_ok=True)
  out.write_text(json.dumps(results, indent=2) + '\n')
  print(f'\n| recipe ({args.steps} steps, seeds {args.seeds}) | modes (of 1,000) | KL |')
  print('| --- | --- | --- |')
  for name, result in results['recipes'].items():
    modes = [r['modes'] for r in result['runs']]
    kls = [r['kl'] for r in result['runs']]
    print(f'| {name} | {np.mean(modes):.0f} ({min(modes)}-{max(modes)}) | '
          f'{np.mean(kls):.3f} ({min(kls):.3f}-{max(kls):.3f}) |')
  print(f'| real stacked digits (floor) | {results["real"]["modes"]} | '
        f'{results["real"]["kl"]:.3f} |')
  for source, modes, kl in PUBLISHED:
    print(f'| {source} | {modes} | {kl} |')


if __name__ == '__main__':
  main()
