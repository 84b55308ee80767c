"""Datasets -> uint8 image arrays, and deterministic, resumable batches over them.

The batch order depends only on (seed, step): epoch e visits the images in the permutation drawn
from (seed, e). A run resumed at step N therefore sees exactly the batches the uninterrupted run
would have seen, and the data position is the step itself.
"""

import concurrent.futures
from collections.abc import Iterator

import numpy as np
from PIL import Image

EMBEDDED = ('digits',)


class DatasetError(ValueError):
  """A dataset that cannot be read; the message says why and what to do."""


def load_images(spec: str, image_size: int, channels: int) -> np.ndarray:
  """The images a dataset spec names, as uint8 `(n, image_size, image_size, channels)`."""
  if spec == 'digits':
    images = _digits()
  else:
    raise DatasetError(f'unknown dataset {spec!r}; available: {", ".join(EMBEDDED)}')
  return np.stack([_fit(image, image_size, channels) for image in images])


def _digits() -> list[Image.Image]:
  """scikit-learn's 1,797 handwritten 8x8 digits (shipped with the package: no download)."""
  from sklearn.datasets import load_digits
  pixels = np.round(load_digits().images * (255.0 / 16.0)).astype(np.uint8)
  return [Image.fromarray(image, mode='L') for image in pixels]


def _fit(image: Image.Image, size: int, channels: int) -> np.ndarray:
  """Center-crop to a square, resize to `size`, convert to `channels` (1 or 3)."""
  width, height = image.size
  side = min(width, height)
  left, top = (width - side) // 2, (height - side) // 2
  image = image.crop((left, top, left + side, top + side))
  if side != size:
    image = image.resize((size, size), Image.Resampling.BICUBIC)
  image = image.convert('L' if channels == 1 else 'RGB')
  return np.asarray(image, np.uint8).reshape(size, size, channels)


class EpochBatches:
  """Batches of `batch_size` images; epoch e is the permutation drawn from (seed, e).

  Incomplete final batches are dropped so every step has the same shape (one compilation).
  """

  def __init__(self, images: np.ndarray, batch_size: int, seed: int):
    if len(images) < batch_size:
      raise DatasetError(f'the dataset has {len(images)} images, fewer than one batch of '
                         f'{batch_size}')
    self.images = images
    self.batch_size = batch_size
    self.seed = seed
    self.steps_per_epoch = len(images) // batch_size
    self._epoch, self._order = -1, None

  def batch(self, step: int) -> np.ndarray:
    epoch, index = divmod(step, self.steps_per_epoch)
    if epoch != self._epoch:
      self._epoch = epoch
      self._order = np.random.default_rng([self.seed, epoch]).permutation(len(self.images))
    return self.images[self._order[index * self.batch_size:(index + 1) * self.batch_size]]

  def iterate(self, start_step: int) -> Iterator[np.ndarray]:
    """Batches from `start_step` on, the next one prepared in a background thread."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
      pending = pool.submit(self.batch, start_step)
      step = start_step
      while True:
        step += 1
        ready, pending = pending.result(), pool.submit(self.batch, step)
        yield ready
