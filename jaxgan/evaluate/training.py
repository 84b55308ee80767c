"""The evaluation a run makes every `eval_every` steps: its samples against the real data.

Two feature spaces, as `Config.eval_features` chooses (auto: digits on the digits):
  digits     the digits' small feature network (`jaxgan.evaluate.digits`), against the 1,347
             training digits; logs eval/fd_digits. Offline: no weights to bring.
  inception  FID's Inception-v3 (`jaxgan.evaluate.inception`, the converted weights from
             `--inception FILE` or $JAXGAN_INCEPTION), against `eval_samples` images of the run's
             own dataset; logs eval/fid. Their features are computed once and kept in the workdir
             (`eval_real_features.npz`), so a resumed run compares with the same real images.
Both log precision and recall (k = 3) too; the best checkpoint is the one of the lowest distance.
"""

import functools
from pathlib import Path
from typing import Callable

import numpy as np

from jaxgan.evaluate import cache, digits, inception, metrics

METRICS = {'digits': 'eval/fd_digits', 'inception': 'eval/fid'}  # each space's distance
REAL_FEATURES = 'eval_real_features.npz'
REAL_SEED_STREAM = 7  # the real images drawn for the reference: a permutation of (seed, this)


def evaluation(config, examples, workdir: Path, inception_weights: str | None = None
               ) -> Callable[[np.ndarray], dict]:
  """`evaluate(samples in [0, 1]) -> {METRICS[space]: distance, 'eval/precision': ...,
  'eval/recall': ...}`; `WeightsMissing` (one line) when Inception's weights are not there."""
  if config.eval_space == 'digits':  # computed at the first evaluation
    real = functools.cache(lambda: digits.digit_features(digits.real_digits('train')))
    features = digits.digit_features
  else:  # loaded at once: missing weights are one line at the start, not one later
    params = inception.load_weights(inception_weights)
    features = lambda images: inception.pool3_features(params, images)
    real_features = _real_features(config, examples, features, workdir)
    real = lambda: real_features
  metric = METRICS[config.eval_space]

  def evaluate(samples):
    report = metrics.compare(real(), features(samples), ('fid', 'pr'))
    return {metric: report['fid'], 'eval/precision': report['precision'],
            'eval/recall': report['recall']}
  return evaluate


def _real_features(config, examples, features, workdir: Path) -> np.ndarray:
  """The features of `eval_samples` real images (at most the dataset), cached in the workdir."""
  path = workdir / REAL_FEATURES
  count = min(config.eval_samples, len(examples))
  cached = cache.read(path) or {}
  if 'features' in cached and cached.get('seed') == config.seed and \
      len(cached['features']) == count:
    return cached['features']
  indices = np.random.default_rng([config.seed, REAL_SEED_STREAM]).permutation(len(examples))
  images = examples.batch(np.sort(indices[:count]))['image'] / 255.0
  real = features(images.astype(np.float32))
  cache.write(path, {'features': real, 'seed': np.asarray(config.seed)})
  return real
