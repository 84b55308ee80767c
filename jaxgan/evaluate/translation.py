"""Paired translation checks: how close the translations are to their targets.

`pair_errors` gives the mean absolute error (L1) and the peak signal-to-noise ratio (PSNR, per
image, then averaged: 10 log10(1 / MSE) for images in [0, 1]) of outputs against targets. For
super-resolution (`digits_x4`) the baseline is bicubic upsampling of the low-resolution source
(PIL's, as the digits themselves were enlarged): a translation that does not beat it has learned
nothing a fixed filter would not do.
"""

import numpy as np
from PIL import Image


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
