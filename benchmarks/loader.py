"""Input-pipeline throughput on CelebA-like data (synthetic 178x218 JPEGs, made on the spot).

  python benchmarks/loader.py [--images 512] [--size 64] [--batch-size 32]

Times the two random-access readers `jaxgan.data` offers, as training reads them
(`EpochBatches.iterate` through Grain: an epoch permutation, sorted rows, horizontal flips): a
folder prepared once into the memory-mapped cache (the prepare time is reported too), and a TFDS
array_record dataset, decoded on read, also by 1, 2 and 4 Grain worker processes (`--workers`).
`benchmarks/throughput.py` prints these beside the train step.
"""

import argparse
import contextlib
import io
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import tensorflow_datasets as tfds
from absl import logging
from PIL import Image

from jaxgan import data


def celeba_like_folder(root: Path, count: int) -> Path:
  """`count` smooth 178x218 RGB JPEGs, CelebA's size and format."""
  rng = np.random.default_rng(0)
  folder = root / 'celeba_like'
  folder.mkdir()
  y, x = np.mgrid[0:218, 0:178]
  for i in range(count):
    a, b, c = rng.uniform(0.01, 0.1, 3)
    pixels = np.stack([np.sin(a * x + i), np.cos(b * y), np.sin(c * (x + y))], -1)
    Image.fromarray(((pixels + 1) * 127.5).astype(np.uint8)).save(folder / f'{i:06d}.jpg',
                                                                   quality=90)
  return folder


class CelebaLike(tfds.core.GeneratorBasedBuilder, skip_registration=True):
  """A folder's JPEG bytes as a TFDS dataset (stored as they are: no TensorFlow needed). Not
  registered: the readers (this process's and Grain's workers, which import this module again)
  find it by name in its data_dir, as TFDS reads any prepared dataset."""

  VERSION = tfds.core.Version('1.0.0')

  def __init__(self, folder: Path | None = None, **kwargs):  # data_source passes none
    self._folder = folder
    super().__init__(**kwargs)

  def _info(self):
    image = tfds.features.Image(shape=(218, 178, 3), encoding_format='jpeg')
    return tfds.core.DatasetInfo(builder=self,
                                 features=tfds.features.FeaturesDict({'image': image}))

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples()}

  def _generate_examples(self):
    for path in sorted(self._folder.glob('*.jpg')):
      yield path.name, {'image': path.read_bytes()}


def tfds_copy(folder: Path, data_dir: Path) -> str:
  """Prepares `CelebaLike` from `folder` as array_record in `data_dir`; its dataset spec."""
  logging.set_verbosity(logging.ERROR)
  tfds.disable_progress_bar()
  with contextlib.redirect_stdout(io.StringIO()):  # "Downloading and preparing ..."
    CelebaLike(folder, data_dir=data_dir, file_format='array_record').download_and_prepare()
  return 'tfds:celeba_like'


def images_per_second(images, batch_size: int, seconds: float = 2.0, workers: int = 0) -> float:
  """Batches as training draws them (`EpochBatches.iterate`, through Grain, with `workers`
  worker processes), for at least `seconds` after the first batch (the workers' start-up);
  images per second."""
  examples = images if hasattr(images, 'batch') else data.ArrayExamples({'image': images})
  stream = data.EpochBatches(examples, batch_size, seed=0, hflip=True).iterate(0, workers=workers)
  next(stream)
  done, start = 0, time.perf_counter()
  while time.perf_counter() - start < seconds:
    next(stream)
    done += 1
  return done * batch_size / (time.perf_counter() - start)


def measure(count: int, size: int, batch_sizes: list[int], workers: list[int] = [0],
            seconds: float = 2.0) -> dict:
  """{'prepare': img/s, 'folder': {batch: img/s}, 'tfds': {batch: img/s},
  'tfds_workers': {workers: img/s at the first batch size}}."""
  with tempfile.TemporaryDirectory() as tmp:
    root = Path(tmp)
    folder = celeba_like_folder(root, count)
    start = time.perf_counter()
    cached = data.load_dataset(str(folder), size, 3, data_dir=root / 'cache')
    prepare = count / (time.perf_counter() - start)
    tfds_images = data.load_examples(tfds_copy(folder, root / 'tfds'), size, 3,
                                     data_dir=root / 'tfds').examples
    return {'prepare': prepare,
            'folder': {b: images_per_second(cached, b, seconds) for b in batch_sizes},
            'tfds': {b: images_per_second(tfds_images, b, seconds) for b in batch_sizes},
            'tfds_workers': {w: images_per_second(tfds_images, batch_sizes[0], seconds, w)
                             for w in workers}}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--images', type=int, default=512)
  parser.add_argument('--size', type=int, default=64)
  parser.add_argument('--batch-size', type=int, default=32)
  parser.add_argument('--workers', default='0,1,2,4',
                      help="Grain worker processes to time the TFDS reader with (comma list)")
  parser.add_argument('--seconds', type=float, default=4.0, help='timed per measurement')
  args = parser.parse_args()
  workers = [int(w) for w in args.workers.split(',')]
  result = measure(args.images, args.size, [args.batch_size], workers, args.seconds)
  print(f'prepare the folder cache once: {result["prepare"]:.0f} img/s')
  print(f'folder cache: {result["folder"][args.batch_size]:.0f} img/s; '
        f'tfds array_record: {result["tfds"][args.batch_size]:.0f} img/s')
  print(f'tfds array_record, decoded by Grain worker processes (batch {args.batch_size}, '
        f'{os.cpu_count()} CPUs):')
  print('| workers | img/s |\n| --- | --- |')
  for count, rate in result['tfds_workers'].items():
    print(f'| {count} | {rate:.0f} |')


if __name__ == '__main__':
  main()
