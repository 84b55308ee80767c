"""The quality table: every digits preset trained with its own recipe, measured the same way.

  python benchmarks/quality.py [--presets digits,conditional,wgan_gp,dcgan32] [--num 2000]
                               [--seed 0] [--workdirs DIR] [--out FILE.json]

Each preset trains on the embedded digits for its own number of steps (`train.py --config
PRESET`); `--num` samples of its final EMA generator are compared with the 1,347 training digits
in the digits' feature space, exactly as
  python -m jaxgan.evaluate --real digits:train --fake WORKDIR --num 2000
compares them (Frechet distance, KID, precision/recall k=3, density/coverage k=5). The floor is
the 450 held-out real digits against the same training digits. The conditional preset adds the
fraction of samples of the class asked for and the Classification Accuracy Score. Results go to
benchmarks/results/quality.json unless --out names a file, where the presets not run this time
keep their rows (with their own seed and sample count); workdirs (samples, checkpoints) stay
under --workdirs when given.
"""

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from jaxgan import configs  # noqa: E402
from jaxgan.evaluate import digits, metrics  # noqa: E402
from jaxgan.commands.evaluate import conditional_digit_labels, load_images  # noqa: E402
from jaxgan.train import run  # noqa: E402

RESULTS = ROOT / 'benchmarks' / 'results'
PRESETS = ('digits', 'conditional', 'wgan_gp', 'dcgan32', 'stylegan2', 'pggan')
METRICS = ('fid', 'kid', 'pr', 'dc')
COLUMNS = (('fid', 'FD'), ('kid', 'KID'), ('precision', 'precision'),
           ('recall', 'recall'), ('density', 'density'), ('coverage', 'coverage'))


def measure(real_features, images) -> dict:
  return metrics.compare(real_features, digits.digit_features(images), METRICS)


def row(name: str, report: dict) -> str:
  cells = [f'{report[key]:.3f}' for key, _ in COLUMNS]
  return f'| {name} | ' + ' | '.join(cells) + ' |'


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--presets', default=','.join(PRESETS))
  parser.add_argument('--num', type=int, default=2000)
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--workdirs', type=Path)
  parser.add_argument('--out', type=Path, default=RESULTS / 'quality.json')
  args = parser.parse_args(argv)
  real = digits.digit_features(digits.real_digits('train'))
  results = {'num_samples': args.num, 'seed': args.seed,
             'floor': measure(real, digits.real_digits('holdout')), 'presets': {}}
  if args.out.exists():  # the presets not run this time keep their rows
    results['presets'] = json.loads(args.out.read_text())['presets']
  root = args.workdirs or Path(tempfile.mkdtemp(prefix='jaxgan_quality_'))
  for name in args.presets.split(','):
    config = configs.get(name).replace(seed=args.seed)
    workdir = root / name
    start = time.perf_counter()
    summary = run(config, workdir, progress=False)
    images = load_images(str(workdir), args.num, config.image_size)
    report = {'steps': config.steps, 'train_s': round(time.perf_counter() - start, 1),
              'seed': args.seed, 'num_samples': args.num, **measure(real, images)}
    if (labels := conditional_digit_labels(str(workdir), len(images))) is not None:
      report['class_accuracy'] = summary['digits_check']['class_accuracy']
      report.update(digits.classification_accuracy_score(images, labels))
    results['presets'][name] = report
    print(f'{name}: {report}', flush=True)
  args.out.parent.mkdir(parents=True, exist_ok=True)
  args.out.write_text(json.dumps(results, indent=2) + '\n')
  print('\n| preset (steps) | ' + ' | '.join(title for _, title in COLUMNS) + ' |')
  print('| --- ' * (len(COLUMNS) + 1) + '|')
  for name, report in results['presets'].items():
    print(row(f'`{name}` ({report["steps"]:,})', report))
  print(row('real held-out digits (floor)', results['floor']))


if __name__ == '__main__':
  main()
