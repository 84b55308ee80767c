import numpy as np
import pytest

from jaxgan import data


def test_digits_are_the_real_sklearn_digits():
  images = data.load_images('digits', 8, 1)
  assert images.shape == (1797, 8, 8, 1) and images.dtype == np.uint8
  from sklearn.datasets import load_digits
  np.testing.assert_array_equal(images[..., 0], np.round(load_digits().images * 255 / 16))


def test_digits_resized_and_converted_to_rgb():
  images = data.load_images('digits', 16, 3)
  assert images.shape == (1797, 16, 16, 3)
  np.testing.assert_array_equal(images[..., 0], images[..., 2])


def test_unknown_dataset():
  with pytest.raises(data.DatasetError, match='unknown dataset'):
    data.load_images('nope', 8, 1)


def test_epochs_are_seeded_permutations_and_resumable():
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  batches = data.EpochBatches(images, batch_size=3, seed=7)
  assert batches.steps_per_epoch == 3
  epoch0 = np.concatenate([batches.batch(s) for s in range(3)]).ravel()
  epoch1 = np.concatenate([batches.batch(s) for s in range(3, 6)]).ravel()
  assert len(set(epoch0)) == 9 and len(set(epoch1)) == 9  # no image twice in an epoch
  assert not np.array_equal(epoch0, epoch1)
  # Same seed, same batches; a stream started at step 4 is the uninterrupted stream's tail.
  again = data.EpochBatches(images, batch_size=3, seed=7)
  stream = again.iterate(0)
  uninterrupted = [next(stream) for _ in range(8)]
  resumed = data.EpochBatches(images, batch_size=3, seed=7).iterate(4)
  for want in uninterrupted[4:]:
    np.testing.assert_array_equal(next(resumed), want)
  other_seed = data.EpochBatches(images, batch_size=3, seed=8)
  assert not np.array_equal(other_seed.batch(0), batches.batch(0))


def test_too_few_images_for_a_batch():
  with pytest.raises(data.DatasetError, match='fewer than one batch'):
    data.EpochBatches(np.zeros((2, 1, 1, 1), np.uint8), batch_size=3, seed=0)
