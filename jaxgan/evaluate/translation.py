"""Paired translation checks: how close the translations are to their targets.

`pair_errors` gives the mean absolute error (L1) and the peak signal-to-noise ratio (PSNR, per
image, then averaged: 10 log10(1 / MSE) for images in [0, 1]) of outputs against targets. For
super-resolution (`digits_x4`) the baseline is bicubic upsampling of the low-resolution source
(PIL's, as the digits themselves were enlarged): a translation that does not beat it has learned
nothing a fixed filter would not do.
"""

import numpy as np
from PIL import Image

from jaxgan.evaluate.digits import digit_report


def pair_errors(outputs: np.ndarray, targets: np.ndarray) -> dict:
  """{'l1': mean |outputs - targets|, 'psnr': mean over images of 10 log10(1 / MSE)}; images
  `(n, h, w, c)` in [0, 1]."""
  difference = np.asarray(outputs, np.float64) - np.asarray(targets, np.float64)
  mse = np.maximum(np.square(difference).reshape(len(difference), -1).mean(1), 1e-10)
  return {'l1': float(np.abs(difference).mean()), 'psnr': float(np.mean(10 * np.log10(1 / mse)))}


def bicubic(low: np.ndarray, size: int) -> np.ndarray:
  """uint8 images `(n, h, w, c)` enlarged to `size` with PIL's bicubic filter, in [0, 1]."""
  def one(image):
    picture = Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image)
    return np.asarray(picture.resize((size, size), Image.Resampling.BICUBIC), np.float32)
  return np.stack([one(image) for image in low]).reshape(len(low), size, size, -1) / 255.0


def super_resolution_report(outputs: np.ndarray, targets: np.ndarray, low: np.ndarray) -> dict:
  """The translations' errors and bicubic upsampling's on the same pairs: `outputs` in [0, 1],
  `targets` and the low-resolution sources `low` uint8."""
  targets = np.asarray(targets, np.float32) / 255.0
  ours = pair_errors(outputs, targets)
  baseline = pair_errors(bicubic(np.asarray(low), targets.shape[1]), targets)
  return {'l1': ours['l1'], 'psnr': ours['psnr'], 'bicubic_l1': baseline['l1'],
          'bicubic_psnr': baseline['psnr'], 'num_pairs': len(targets)}


def domain_classifier(a: np.ndarray, b: np.ndarray):
  """A logistic regression telling domain A's images (0) from domain B's (1), on their pixels
  box-filtered to 8x8; `predict(images in [0, 1]) -> 0 or 1 per image`."""
  from sklearn.linear_model import LogisticRegression

  def features(images):
    images = np.asarray(images, np.float32)
    n, side = len(images), images.shape[1]
    f = side // 8
    return images.reshape(n, 8, f, 8, f, -1).mean((2, 4)).reshape(n, -1)

  model = LogisticRegression(max_iter=2000).fit(
      np.concatenate([features(a / 255.0), features(b / 255.0)]),
      np.repeat([0, 1], [len(a), len(b)]))
  return lambda images: model.predict(features(images))


def cycle_report(to_b: np.ndarray, to_a: np.ndarray, labels: np.ndarray, held_out, train) -> dict:
  """CycleGAN on the digits in two styles. `to_b`: held-out plain digits translated to bold,
  `to_a`: held-out bold digits translated to plain, in [0, 1]; `labels`: their classes;
  `held_out`, `train`: (plain, bold) uint8 images. Reports the digits classifier's accuracy on
  `to_a` (is it still the same digit?) beside its accuracy on the real plain held-out digits,
  and the share of each direction's translations a domain classifier (trained on the training
  split's two styles) puts in the target domain, beside its accuracy on the real held-out
  images."""
  predict = domain_classifier(*train)
  plain, bold = (np.asarray(images, np.float32) / 255.0 for images in held_out)
  return {
      'digit_accuracy': digit_report(to_a, asked=labels)['class_accuracy'],
      'real_digit_accuracy': digit_report(plain, asked=labels)['class_accuracy'],
      'in_domain_b': float(np.mean(predict(to_b) == 1)),
      'in_domain_a': float(np.mean(predict(to_a) == 0)),
      'real_domain_accuracy': float(np.mean(np.concatenate([predict(plain) == 0,
                                                             predict(bold) == 1]))),
      'num_images': len(labels)}
