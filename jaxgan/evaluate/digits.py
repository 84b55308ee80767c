"""Do the samples look like digits? A classifier trained on the real digits labels them.

The first quality metric of the default run. A support vector classifier (scikit-learn, with
probabilities calibrated by Platt scaling) is fitted on 1,347 of scikit-learn's 1,797 8x8 digits; generated
images are reduced to 8x8 grey levels 0..16 and classified. Reported: the fraction classified with
confidence >= `threshold`, the histogram of predicted classes (a collapsed generator shows a few
classes), and, as the yardstick, the same fraction on the 450 held-out real digits.

  python -m jaxgan.evaluate.digits --samples samples.npy
"""

import argparse
import functools
import json

import numpy as np


@functools.cache
def _classifier_and_holdout():
  from sklearn.datasets import load_digits
  from sklearn.model_selection import train_test_split
  from sklearn.calibration import CalibratedClassifierCV
  from sklearn.svm import SVC
  digits = load_digits()
  x_train, x_test, y_train, _ = train_test_split(
      digits.data, digits.target, test_size=450, random_state=0, stratify=digits.target)
  classifier = CalibratedClassifierCV(SVC(gamma=0.001), ensemble=False).fit(x_train, y_train)
  return classifier, x_test


def to_digit_features(images: np.ndarray) -> np.ndarray:
  """Images in [0, 1], `(n, h, w[, c])` with h and w multiples of 8 -> `(n, 64)` in 0..16."""
  images = np.asarray(images, np.float64)
  if images.ndim == 4:
    images = images.mean(axis=-1)
  n, h, w = images.shape
  if h % 8 or w % 8:
    raise ValueError(f'digit images must be a multiple of 8 pixels, got {h}x{w}')
  pooled = images.reshape(n, 8, h // 8, 8, w // 8).mean(axis=(2, 4))
  return pooled.reshape(n, 64) * 16.0


def confidence_report(features: np.ndarray, threshold: float,
                      asked: np.ndarray | None = None) -> dict:
  classifier, _ = _classifier_and_holdout()
  probabilities = classifier.predict_proba(features)
  labels = classifier.classes_[probabilities.argmax(axis=1)]
  report = {
      'confident_fraction': float((probabilities.max(axis=1) >= threshold).mean()),
      'class_histogram': np.bincount(labels, minlength=10).tolist(),
  }
  if asked is not None:  # a conditional generator: is each sample of the class asked for?
    report['class_accuracy'] = float((labels == asked).mean())
    report['per_class_accuracy'] = [float((labels[asked == c] == c).mean()) for c in range(10)]
  return report


def digit_report(images: np.ndarray, threshold: float = 0.9,
                 asked: np.ndarray | None = None) -> dict:
  """How digit-like generated images in [0, 1] are, beside the same figure for real digits.
  With `asked` (the class each image was generated for), also the fraction classified as that
  class, overall and per class: what a class-conditional generator must get right."""
  _, holdout = _classifier_and_holdout()
  report = confidence_report(to_digit_features(images), threshold, asked)
  report['real_confident_fraction'] = confidence_report(holdout, threshold)['confident_fraction']
  report.update(threshold=threshold, num_samples=len(images))
  return report


def main(argv=None):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--samples', required=True, help='.npy of images in [0, 1], (n, h, w[, c])')
  parser.add_argument('--threshold', type=float, default=0.9)
  args = parser.parse_args(argv)
  print(json.dumps(digit_report(np.load(args.samples), args.threshold)))


if __name__ == '__main__':
  main()
