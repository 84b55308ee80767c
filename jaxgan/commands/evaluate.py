"""Compares generated samples with real ones by the field's metrics.

  python -m jaxgan.evaluate --real SPEC --fake SPEC [--metrics fid,kid,pr,dc,is,cas]
                            [--features digits|inception] [--inception FILE] [--num N]
                            [--image-size S] [--json OUT]

A SPEC is a workdir (`--num` samples drawn from its generator, as `jaxgan.sample` draws them), an
.npy of images (uint8, or floats in [0, 1]), `digits:train` or `digits:holdout` (the real digits
the feature network was trained on, or held out from it), or a dataset as `train.py` takes it (a
folder, `digits`, `tfds:NAME`; read at `--image-size`). Features: `digits`, a small network
trained on the embedded digits (no download), or `inception`, FID's Inception-v3 (its converted
weights from `--inception` or $JAXGAN_INCEPTION). Metrics: fid, kid (mean and std over subsets),
pr (precision, recall), dc (density, coverage); with Inception features, is: the Inception Score
of --fake (mean and std over 10 splits, as torch-fidelity); for a class-conditional digits workdir
as --fake, cas: the Classification Accuracy Score (a classifier trained on its samples, tested on the
real held-out digits, beside the same trained on real digits, and real digits with generated ones
added).
"""

import json
import sys
from pathlib import Path

import numpy as np

from jaxgan import data
from jaxgan.commands.common import (OneLineErrorParser, command_name, load_family_plugins,
                                    positive_int)
from jaxgan.evaluate import digits, inception, metrics
from jaxgan.files import OutputCollision, check_outputs, read_npy, write_text
from jaxgan.sample import generate

METRICS = ('fid', 'kid', 'pr', 'dc', 'is', 'cas')

DEFAULT_METRICS = ('fid', 'kid', 'pr', 'dc')


def conditional_digit_labels(spec: str, num: int) -> np.ndarray | None:
  """The labels of `num` samples of a class-conditional digits workdir (classes in turn), else
  None."""
  config_file = Path(spec) / 'config.json'
  if not config_file.is_file():
    return None
  config = json.loads(config_file.read_text())
  if not config.get('conditional') or tuple(config.get('classes', ())) != tuple('0123456789'):
    return None
  return np.arange(num) % 10


def load_images(spec: str, num: int, image_size: int) -> np.ndarray:
  """Images in [0, 1], `(n, h, w, c)` (at most `num` of them), from a SPEC (see above)."""
  path = Path(spec)
  if (path / 'checkpoints').is_dir():
    images = generate(path, num)
  elif path.suffix == '.npy':
    images = read_npy(path)
    if images.ndim not in (3, 4):
      raise ValueError(f'{spec!r} holds an array of shape {images.shape}, not images '
                       f'(n, h, w[, c])')
    images = images / 255.0 if images.dtype == np.uint8 else images.astype(np.float32)
  elif spec.startswith('digits:'):
    split = spec.split(':', 1)[1]
    if split not in ('train', 'holdout'):
      raise ValueError(f'{spec!r}: the real digits are digits:train or digits:holdout')
    images = digits.real_digits(split)
  else:
    examples = data.load_examples(spec, image_size, 3).examples
    images = examples.batch(np.arange(min(num, len(examples))))['image'] / 255.0
  images = np.asarray(images[:num], np.float32)
  return images[..., None] if images.ndim == 3 else images


def features(images: np.ndarray, kind: str, inception_params: dict | None = None) -> np.ndarray:
  """The `kind` features of images in [0, 1]."""
  if kind == 'digits':
    return digits.digit_features(images)
  return inception.pool3_features(inception_params, images)


def main(argv=None) -> int:
  load_family_plugins(command_name('python -m jaxgan.evaluate'))
  parser = OneLineErrorParser(prog='python -m jaxgan.evaluate',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--real', required=True, metavar='SPEC')
  parser.add_argument('--fake', required=True, metavar='SPEC')
  parser.add_argument('--metrics', default=','.join(DEFAULT_METRICS), metavar='LIST',
                      help=f'comma-separated, of {", ".join(METRICS)} (default: '
                           f'{",".join(DEFAULT_METRICS)})')
  parser.add_argument('--features', choices=('digits', 'inception'), default='digits')
  parser.add_argument('--inception', metavar='FILE', help='converted Inception weights (.npz)')
  parser.add_argument('--num', type=positive_int, default=2_000, metavar='N',
                      help='at most N images of each side (default: %(default)s)')
  parser.add_argument('--image-size', type=positive_int, default=64, metavar='S',
                      help='the size a dataset SPEC is read at (default: %(default)s)')
  parser.add_argument('--json', metavar='OUT', help='also write the results as JSON')
  args = parser.parse_args(argv)
  if args.json:
    try:
      check_outputs([(Path(args.json), '--json')],
                    inputs=[Path(spec) for spec in (args.real, args.fake) if Path(spec).is_file()])
    except OutputCollision as error:
      parser.error(f'{error}; choose another --json')
    if not Path(args.json).parent.is_dir():
      parser.error(f'--json {args.json!r}: the folder {str(Path(args.json).parent)!r} does not '
                   f'exist')
  chosen = [name for name in args.metrics.split(',') if name]
  if unknown := [name for name in chosen if name not in METRICS]:
    parser.error(f'unknown metric {unknown[0]!r}; known: {", ".join(METRICS)}')
  if 'is' in chosen and args.features != 'inception':
    parser.error('is (the Inception Score) needs --features inception')
  try:
    real, fake = (load_images(spec, args.num, args.image_size) for spec in (args.real, args.fake))
    if min(len(real), len(fake)) < 6:
      parser.error(f'too few images to compare ({len(real)} real, {len(fake)} generated)')
    report = {}
    if 'cas' in chosen:
      labels = conditional_digit_labels(args.fake, len(fake))
      if labels is None:
        parser.error('cas needs a class-conditional digits workdir as --fake')
      report.update(digits.classification_accuracy_score(fake, labels))
    others = [name for name in chosen if name not in ('cas', 'is')]
    if others or 'is' in chosen:
      params = inception.load_weights(args.inception) if args.features == 'inception' else None
      fake_features = features(fake, args.features, params)
    if others:
      report.update(metrics.compare(features(real, args.features, params), fake_features,
                                    others))
    if 'is' in chosen:
      report['is'], report['is_std'] = metrics.inception_score(
          inception.classifier_logits(params, fake_features))
  except (FileNotFoundError, ValueError, KeyError) as error:
    parser.error(str(error).strip().splitlines()[0] if str(error) else type(error).__name__)
  except KeyboardInterrupt:
    print(f'{parser.prog}: interrupted; nothing was written', file=sys.stderr)
    return 130
  report.update(features=args.features, num_real=len(real), num_fake=len(fake))
  width = max(map(len, report))
  for name, value in report.items():
    print(f'{name:<{width}}  {value:.6g}' if isinstance(value, float) else
          f'{name:<{width}}  {value}')
  if args.json:
    try:
      write_text(args.json, json.dumps(report, indent=2) + '\n')
    except OSError as error:
      parser.error(f'cannot write --json {args.json!r}: {error.strerror or error}')
  return 0
