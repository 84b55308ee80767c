"""Datasets -> examples (dicts of arrays), and deterministic, resumable batches over them.

A batch is a dict: `image` (uint8 `(n, h, w, c)`) or `point` (float32 `(n, 2)`, the 2-D
mixtures), plus `label` (int32 `(n,)`) when the run asks for labels and the dataset has them:
the digits' ten classes, a folder's class subfolders, TFDS's `label` feature. Sharding, prefetch,
resume and the step treat every entry alike.

The batch order depends only on (seed, step): epoch e visits the examples in the permutation
drawn from (seed, e). A run resumed at step N therefore sees exactly the batches the
uninterrupted run would have seen, and the data position is the step itself.
"""

import bisect
import concurrent.futures
import dataclasses
import functools
import hashlib
import json
import math
import mmap
import os
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import NamedTuple
from pathlib import Path

import numpy as np
from PIL import Image

from jaxgan.mixtures import MIXTURES

EMBEDDED = ('digits', 'stacked_digits', 'ring8', 'grid25')
STACKED = 50_000  # stacked-digit images drawn once (seed 0): the training set
POINTS = 100_000  # samples drawn once from a 2-D mixture: its training set
IMAGE_SUFFIXES = ('.jpg', '.jpeg', '.png', '.webp')
# Part of every folder cache's name: a cache written by a version that read images otherwise
# (before `eight_bit`, 16-bit images were cached white) is not reused.
FOLDER_CACHE_FORMAT = 'images scaled to 8 bits'
DEFAULT_CACHE = Path('~/.cache/jaxgan').expanduser()


class DatasetError(ValueError):
  """A dataset that cannot be read; the message says why and what to do."""


class ArrayExamples:
  """Examples held as equal-length arrays (in memory or memory-mapped): `batch(indices)` is
  `{name: array[indices]}`."""

  def __init__(self, arrays: Mapping[str, np.ndarray]):
    self.arrays = dict(arrays)
    lengths = {len(array) for array in self.arrays.values()}
    assert len(lengths) == 1, f'arrays of different lengths: {lengths}'

  def __len__(self) -> int:
    return len(next(iter(self.arrays.values())))

  def batch(self, indices) -> dict[str, np.ndarray]:
    return {name: array[indices] for name, array in self.arrays.items()}

  def __getstate__(self):
    """A memory-mapped cache goes to the loader's worker processes as its file name, not as its
    contents."""
    return {name: ('memmap', array.filename) if isinstance(array, np.memmap)
            and isinstance(array.base, mmap.mmap) else ('array', array)
            for name, array in self.arrays.items()}

  def __setstate__(self, state):
    self.arrays = {name: np.load(value, mmap_mode='r') if kind == 'memmap' else value
                   for name, (kind, value) in state.items()}


@dataclasses.dataclass(frozen=True)
class Dataset:
  """`examples`: random access to batches (`len(examples)`, `examples.batch(indices) -> dict`);
  `classes`: the class names, in label order, when the examples carry labels."""

  examples: 'ArrayExamples | TfdsImages'
  classes: tuple[str, ...] = ()


def load_examples(spec: str, image_size: int, channels: int, data_dir: str | Path | None = None,
                  report=print, labels: bool = False) -> Dataset:
  """The examples a dataset spec names (see `load_dataset`), with labels when `labels`: the
  digits' classes '0'..'9'; a folder's top-level subfolders, one per class, in sorted order (as
  Keras' `image_dataset_from_directory` and torchvision's `ImageFolder` read them); TFDS's
  `label` feature and its class names. A dataset without labels raises `DatasetError`."""
  if spec in EMBEDDED and spec not in ('digits', 'stacked_digits'):
    if labels:
      raise DatasetError(f'dataset {spec!r} has no labels')
    return Dataset(ArrayExamples({'point': load_dataset(spec, image_size, channels)}))
  if spec.startswith('tfds:'):
    source = TfdsImages(spec, image_size, channels, data_dir, labels=labels)
    return Dataset(source, source.classes)
  if not labels:
    return Dataset(ArrayExamples({'image': load_dataset(spec, image_size, channels, data_dir,
                                                        report)}))
  if spec == 'stacked_digits':
    raise DatasetError(f'dataset {spec!r} has no labels')
  if spec == 'digits':
    images = load_dataset(spec, image_size, channels)
    classes = tuple(str(c) for c in range(10))
    return Dataset(ArrayExamples({'image': images,
                                  'label': digits_and_classes()[1].astype(np.int32)}), classes)
  images, found = _folder_cache(_folder(spec), image_size, channels,
                                Path(data_dir or DEFAULT_CACHE), report)
  if not found['classes'] or found['outside']:
    outside = f' ({len(found["outside"])} images directly in it)' if found['outside'] else ''
    raise DatasetError(f'labels need one subfolder per class, each holding its images, and '
                       f'none outside them; {spec!r} has {len(found["classes"])} class '
                       f'subfolders{outside}')
  return Dataset(ArrayExamples({'image': images, 'label': np.asarray(found['labels'], np.int32)}),
                 tuple(found['classes']))


def load_dataset(spec: str, image_size: int, channels: int, data_dir: str | Path | None = None,
                report=print):
  """The images a dataset spec names, as a random-access uint8 array-like
  `(n, image_size, image_size, channels)` that `EpochBatches` indexes (for the 2-D mixtures,
  float32 points `(n, 2)`).

  spec: an embedded name (`digits`; `stacked_digits`, three digits as the R, G and B channels,
  1,000 modes; `ring8` and `grid25`, the mixtures of
  `jaxgan.evaluate.modes`); `tfds:NAME[:SPLIT]`, a TFDS dataset prepared as
  array_record in `data_dir` (read without TensorFlow); or a folder of JPEG/PNG/WebP images,
  searched recursively, prepared once into a memory-mapped `.npy` cache under `data_dir`
  (default ~/.cache/jaxgan) keyed by the folder's file list, sizes and modification times.
  Every image is center-cropped to a square, resized to `image_size` and converted to
  `channels`. `report` receives the one line about skipped files, if any.
  """
  if spec == 'digits':
    return np.stack([_fit(image, image_size, channels) for image in _digits()])
  if spec == 'stacked_digits':
    return _stacked_digits(image_size, channels)
  if spec in EMBEDDED:
    return MIXTURES[spec]().sample(np.random.default_rng(0), POINTS)
  if spec.startswith('tfds:'):
    return TfdsImages(spec, image_size, channels, data_dir)
  return _folder_cache(_folder(spec), image_size, channels, Path(data_dir or DEFAULT_CACHE),
                       report)[0]


def _folder(spec: str) -> Path:
  """The folder a spec that is neither embedded nor TFDS names."""
  name = spec.partition(':')[0]
  for kinds, use in ((PAIRED_EMBEDDED, 'translation pairs: --config pix2pix'),
                     (UNPAIRED_EMBEDDED, 'two unpaired domains: --config cyclegan')):
    if name in kinds:
      raise DatasetError(f'dataset {spec!r} holds {use} trains on it')
  folder = Path(spec).expanduser()
  if not folder.exists():
    embedded = (*EMBEDDED, *PAIRED_EMBEDDED, *UNPAIRED_EMBEDDED)
    raise DatasetError(f'dataset {spec!r} is neither an embedded dataset '
                       f'({", ".join(embedded)}), tfds:NAME[:SPLIT], nor an existing folder')
  if not folder.is_dir():
    raise DatasetError(f'dataset {spec!r} is a file; give a folder of images')
  return folder


def _stacked_digits(image_size: int, channels: int) -> np.ndarray:
  """STACKED images of three digits drawn at random (seed 0) as the R, G and B channels: the
  stacked-MNIST mode-collapse benchmark of VEEGAN and PacGAN, on the embedded digits (1,000
  modes, each about equally frequent)."""
  if channels != 3:
    raise DatasetError(f'stacked_digits are RGB (their three digits are the channels): '
                       f'channels must be 3, not {channels}')
  digits = np.stack([_fit(image, image_size, 1)[..., 0] for image in _digits()])
  picks = np.random.default_rng(0).integers(0, len(digits), (STACKED, 3))
  return digits[picks].transpose(0, 2, 3, 1)


def _digits() -> list[Image.Image]:
  """scikit-learn's 1,797 handwritten 8x8 digits (shipped with the package: no download)."""
  pixels = np.round(digits_and_classes()[0] * (255.0 / 16.0)).astype(np.uint8)
  return [Image.fromarray(image, mode='L') for image in pixels]


@functools.cache
def digits_and_classes() -> tuple[np.ndarray, np.ndarray]:
  """scikit-learn's digits as `load_digits` gives them, `(1797, 8, 8)` grey levels 0..16 and
  their classes, read from the file scikit-learn ships (datasets/data/digits.csv.gz) without
  importing `sklearn.datasets`: that import takes 1.5 s, which every run on the digits would
  pay at its start (a 2-core AMD EPYC). Falls back to `load_digits` where the file has moved."""
  import importlib.util
  package = importlib.util.find_spec('sklearn')
  table = None
  for location in (package.submodule_search_locations or []) if package else []:
    path = Path(location) / 'datasets' / 'data' / 'digits.csv.gz'
    if path.is_file():
      table = np.loadtxt(path, delimiter=',')
      break
  if table is None:
    from sklearn.datasets import load_digits
    digits = load_digits()
    return digits.images, digits.target
  return table[:, :-1].reshape(-1, 8, 8), table[:, -1].astype(int)


class TfdsImages:
  """A prepared TFDS split, read by index through `tfds.data_source` (no TensorFlow)."""

  def __init__(self, spec: str, image_size: int, channels: int, data_dir=None,
               labels: bool = False):
    import tensorflow_datasets as tfds
    from absl import logging
    logging.set_verbosity(logging.ERROR)  # tfds' warnings (missing files, no OpenCV) are noise here
    name, _, split = spec.removeprefix('tfds:').partition(':')
    split = split or 'train'
    try:
      self._source = tfds.data_source(name, split=split, data_dir=data_dir, download=False)
    except Exception:  # tfds raises several types; all mean "not there"
      where = data_dir or 'the default TFDS data dir'
      raise DatasetError(
          f'TFDS dataset {name!r} (split {split!r}) is not prepared as array_record in {where}; '
          f'prepare it once where there is network access: '
          f'tfds build {name} --file_format=array_record --data_dir DIR, then pass '
          f'--data-dir DIR (preparing may need TensorFlow; reading does not)') from None
    self._size, self._channels = image_size, channels
    self._pool = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1)
    self.labels, self.classes = labels, ()
    if labels:
      feature = dict(self._source.dataset_info.features.items()).get('label')
      if not isinstance(feature, tfds.features.ClassLabel):
        raise DatasetError(f'TFDS dataset {name!r} has no class label feature named label')
      self.classes = tuple(feature.names)

  def __len__(self) -> int:
    return len(self._source)

  def __getstate__(self):  # for the loader's worker processes: each makes its own threads
    return {name: value for name, value in self.__dict__.items() if name != '_pool'}

  def __setstate__(self, state):
    from absl import logging
    logging.set_verbosity(logging.ERROR)  # as in __init__: tfds' warnings are noise here
    self.__dict__.update(state)
    self._pool = concurrent.futures.ThreadPoolExecutor(os.cpu_count() or 1)

  def __getitem__(self, indices) -> np.ndarray:
    return self.batch(indices)['image']

  def batch(self, indices) -> dict[str, np.ndarray]:
    """`{'image'}` (and `'label'` with `labels`), the records decoded and fitted in parallel
    (PIL releases the GIL)."""
    def read(index):
      record = self._source[int(index)]
      image = _fit(Image.fromarray(_squeeze(record['image'])), self._size, self._channels)
      return image, int(record['label']) if self.labels else 0
    images, labels = zip(*self._pool.map(read, indices))
    batch = {'image': np.stack(images)}
    if self.labels:
      batch['label'] = np.asarray(labels, np.int32)
    return batch


def _squeeze(pixels: np.ndarray) -> np.ndarray:
  """TFDS keeps a channel axis on grayscale images; PIL wants (h, w)."""
  return pixels[..., 0] if pixels.ndim == 3 and pixels.shape[-1] == 1 else pixels


def check_outside(dataset: str, workdir: str | Path) -> None:
  """`DatasetError` when `workdir` lies inside the folder `dataset` names: the run's sample
  grids would be read back as training images the next time the folder is read."""
  folder = Path(dataset.partition(':')[0] if ':' in dataset and not Path(dataset).exists()
                else dataset)
  if not folder.is_dir():
    return
  inside = Path(workdir).resolve()
  if inside == folder.resolve() or folder.resolve() in inside.parents:
    raise DatasetError(f'the workdir {str(workdir)!r} is inside the dataset folder '
                       f'{str(folder)!r}: its sample images would become training data; '
                       f'choose a --workdir outside it')


def _folder_cache(folder: Path, image_size: int, channels: int, cache_root: Path, report):
  """The folder's images, fitted, from (or first into) a memory-mapped cache file, and the
  class of each kept image: `{'classes': sorted top-level subfolder names, 'labels': [...],
  'outside': [files directly in the folder]}`."""
  files = _image_files(folder)
  cache = cache_root / 'folders' / (f'{folder.name}-{_fingerprint(folder, files)}-'
                                    f'{image_size}x{image_size}x{channels}.npy')
  classes_file = cache.with_suffix('.classes.json')
  if not (cache.exists() and classes_file.exists()):
    try:
      kept = _prepare(files, cache, image_size, channels, report)
      parts = [path.relative_to(folder).parts for path in files]
      classes = sorted({part[0] for part in parts if len(part) > 1})
      index = {name: i for i, name in enumerate(classes)}
      found = {'classes': classes,
               'labels': [index[parts[i][0]] if len(parts[i]) > 1 else -1 for i in kept],
               'outside': [part[0] for part in parts if len(part) == 1]}
      partial = classes_file.with_name(f'{classes_file.name}.{os.getpid()}.partial')
      partial.write_text(json.dumps(found))
      partial.replace(classes_file)  # whole or absent, as the image cache
    except OSError as error:
      raise DatasetError(f'cannot write the dataset cache {str(cache)!r} '
                         f'({error.strerror or error}); choose another --data-dir') from None
  return np.load(cache, mmap_mode='r'), json.loads(classes_file.read_text())


def _image_files(folder: Path) -> list[Path]:
  """The image files under `folder`, recursively, sorted; `DatasetError` when there are none."""
  files = sorted(p for p in folder.rglob('*') if p.suffix.lower() in IMAGE_SUFFIXES
                 and p.is_file())
  if not files:
    raise DatasetError(f'no .jpg, .jpeg, .png or .webp files in {str(folder)!r}')
  return files


def _fingerprint(folder: Path, files) -> str:
  """A digest of the files' names (relative to `folder`), sizes and modification times: a
  cache prepared from them is reused until one of them changes."""
  digest = hashlib.sha256(FOLDER_CACHE_FORMAT.encode())
  for path in files:
    stat = path.stat()
    digest.update(f'{path.relative_to(folder)}\0{stat.st_size}\0{stat.st_mtime_ns}\n'.encode())
  return digest.hexdigest()[:16]


def _name(item) -> str:
  """A file's name, or a pair's first file's, for messages."""
  return (item[0] if isinstance(item, tuple) else item).name


def _prepare(files, cache: Path, image_size: int, channels: int, report,
             read: Callable | None = None, item_shape: tuple[int, ...] | None = None) -> list[int]:
  """Decodes and fits every file (two threads per core) into `cache`, written atomically, and
  returns the indices of the files kept. Unreadable, truncated and decompression-bomb files are
  skipped and reported once. `read(file) -> array of item_shape, or None` (default: one image,
  `_read`); a file may be a tuple of paths (a pair)."""
  read = read or (lambda f: _read(f, image_size, channels))
  item_shape = item_shape or (image_size, image_size, channels)
  cache.parent.mkdir(parents=True, exist_ok=True)
  partial = cache.with_name(f'{cache.stem}.{os.getpid()}.partial.npy')
  trimmed = partial.with_suffix('.trimmed.npy')
  try:
    rows = np.lib.format.open_memmap(partial, mode='w+', dtype=np.uint8,
                                     shape=(len(files), *item_shape))
    skipped, kept_files, count = [], [], 0
    with concurrent.futures.ThreadPoolExecutor(2 * (os.cpu_count() or 1)) as pool:
      reads = pool.map(read, files)
      for i, (path, image) in enumerate(zip(files, reads)):
        if image is None:
          skipped.append(path)
        else:
          rows[count] = image
          kept_files.append(i)
          count += 1
    if not count:
      raise DatasetError(f'none of the {len(files)} image files could be read (corrupt, '
                         f'truncated or too large)')
    if skipped:
      names = ', '.join(_name(p) for p in skipped[:3]) + (', ...' if len(skipped) > 3 else '')
      report(f'skipped {len(skipped)} of {len(files)} image files that could not be read '
             f'(corrupt, truncated or too large): {names}')
    rows.flush()
    if skipped:  # copy without the unused rows at the end
      kept = np.lib.format.open_memmap(trimmed, mode='w+', dtype=np.uint8,
                                       shape=(count, *rows.shape[1:]))
      kept[:] = rows[:count]
      kept.flush()
      del kept
      trimmed.replace(partial)
    del rows
    partial.replace(cache)
    return kept_files
  finally:
    partial.unlink(missing_ok=True)
    trimmed.unlink(missing_ok=True)


def _read(path: Path, image_size: int, channels: int) -> np.ndarray | None:
  """One file, fitted; None when it is not a readable image or a decompression bomb."""
  try:
    with warnings.catch_warnings():
      warnings.simplefilter('error', Image.DecompressionBombWarning)
      with Image.open(path) as image:
        image.load()
        return _fit(image, image_size, channels)
  except (OSError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning,
          SyntaxError):
    return None


def eight_bit(image: Image.Image) -> Image.Image:
  """`image` in an 8-bit mode, its values scaled to [0, 255] rather than clipped there (PIL's
  `convert('L')` clips, so that a 16-bit image turns white). 16-bit integers ('I;16', 'I;16B',
  ...: 16-bit greyscale PNGs) are scaled by 255/65535; 32-bit integers ('I') by 255/65535 when
  they fit in 16 bits (the data most formats store so), else by 255/(2^31 - 1), negatives at 0;
  floats ('F') from [0, 1], clipped outside it. The 8-bit modes pass as they are: palette
  images (with transparency or not), 'L', 'LA', 'RGB', 'RGBA', CMYK..., which `convert` maps to
  grey or RGB (PIL reads 16-bit RGB PNGs as 8-bit 'RGB', the high byte of each value)."""
  if image.mode.startswith('I;16'):
    values, top = np.asarray(image, np.float64), 65535.0
  elif image.mode == 'I':
    values = np.clip(np.asarray(image, np.float64), 0, None)
    top = 65535.0 if values.max(initial=0) <= 65535 else 2.0 ** 31 - 1
  elif image.mode == 'F':
    values, top = np.clip(np.nan_to_num(np.asarray(image, np.float64)), 0, 1), 1.0
  else:
    return image
  return Image.fromarray(np.round(values * (255 / top)).astype(np.uint8), 'L')


def _fit(image: Image.Image, size: int, channels: int) -> np.ndarray:
  """Center-crop to a square, resize to `size`, convert to `channels` (1 or 3), the values of
  any mode scaled to 8 bits (`eight_bit`)."""
  image = eight_bit(image)
  width, height = image.size
  side = min(width, height)
  left, top = (width - side) // 2, (height - side) // 2
  image = image.crop((left, top, left + side, top + side))
  if side != size:
    image = image.resize((size, size), Image.Resampling.BICUBIC)
  image = image.convert('L' if channels == 1 else 'RGB')
  return np.asarray(image, np.uint8).reshape(size, size, channels)


class EpochBatches:
  """Batches of `batch_size` examples; epoch e is the permutation drawn from (seed, e).

  `examples` is a `Dataset`'s (`len`, `batch(indices) -> dict`); each batch is such a dict.
  Incomplete final batches are dropped so every step has the same shape (one compilation). With
  `hflip`, each example of step s (every image it holds) is mirrored left-right with
  probability 1/2, drawn from (seed, s): a resumed run flips exactly as the uninterrupted one.
  `rows` selects the part of every batch this process feeds (`DataParallel.process_rows`);
  only those examples are read.
  `image_size(step)`: the side the images of step `step` are served at, box-filtered down from
  the dataset's (`downsampled`), for a progressive game's stages; None: the dataset's.
  """

  def __init__(self, examples, batch_size: int, seed: int, hflip: bool = False,
               rows: slice = slice(None), image_size: Callable[[int], int | None] | None = None):
    if len(examples) < batch_size:
      raise DatasetError(f'the dataset has {len(examples)} examples, fewer than one batch of '
                         f'{batch_size}')
    self.examples = examples
    self.batch_size = batch_size
    self.seed = seed
    self.hflip = hflip
    self.rows = rows
    self.image_size = image_size
    self.steps_per_epoch = len(examples) // batch_size
    self._epoch, self._order = -1, None

  def batch(self, step: int) -> dict[str, np.ndarray]:
    epoch, index = divmod(step, self.steps_per_epoch)
    if epoch != self._epoch:
      self._epoch = epoch
      self._order = np.random.default_rng([self.seed, epoch]).permutation(len(self.examples))
    chosen = np.sort(self._order[index * self.batch_size:(index + 1) * self.batch_size])
    batch = self.examples.batch(chosen[self.rows])  # in file order: a memory map reads ahead
    if self.hflip:  # every image of an example alike (a translation pair's source too)
      flip = np.random.default_rng([self.seed, step, 1]).random(self.batch_size) < 0.5
      for name, images in batch.items():
        if images.ndim == 4:
          batch[name] = np.where(flip[self.rows, None, None, None], images[:, :, ::-1], images)
    size = self.image_size(step) if self.image_size else None
    if size and batch['image'].shape[1] != size:
      batch['image'] = downsampled(batch['image'], size)
    return batch

  def iterate(self, start_step: int, stop_step: int | None = None, workers: int = 0,
              prefetch: int = 2) -> Iterator[dict[str, np.ndarray]]:
    """`batch(start_step)`, `batch(start_step + 1)`, ... up to `stop_step` (excluded; None: no
    end), one at a time: `reads` flattened (same arguments); `close()` ends its workers."""
    reads = self.reads(start_step, stop_step, workers, prefetch)
    try:
      for read in reads:
        yield from read
    finally:
      reads.close()

  def reads(self, start_step: int, stop_step: int | None = None, workers: int = 0,
            prefetch: int = 2, per_read: int | None = None
            ) -> Iterator[tuple[dict[str, np.ndarray], ...]]:
    """The batches of the steps from `start_step` to `stop_step` (excluded; None: no end), read
    ahead through Grain, the JAX ecosystem's loader, a few consecutive steps' at a time: a
    `grain.MapDataset` whose element r is the tuple of `batch(s)` for the r-th run of
    `steps_per_read()` steps. The order is still this class's, drawn from (seed, epoch) and
    indexed by the step, so a resumed run reads exactly the batches of the uninterrupted one
    whatever reads them. `workers` 0: one reading thread keeps `prefetch` reads ready;
    `workers` > 0: that many worker processes build them in parallel (Grain's `mp_prefetch`,
    `prefetch` each), for inputs whose decoding is the bottleneck (TFDS, JPEG). `close()` ends
    the workers. `per_read`: the steps of a read, instead of `steps_per_read()`.

    Several steps a read, because Grain costs about 80 microseconds an element (a 2-core AMD
    EPYC), more than a millisecond-scale step can hide; and the loop sends a read's batches to
    the devices in one call (`jaxgan.parallel.DataParallel.shard_batches`).
    """
    import grain
    stop_step = start_step + 2 ** 62 if stop_step is None else stop_step
    per_read = per_read or self.steps_per_read()
    reads = -(-(stop_step - start_step) // per_read)
    stream = grain.MapDataset.range(reads).map(
        _Read(self, start_step, stop_step, per_read)).to_iter_dataset(
            grain.ReadOptions(num_threads=1, prefetch_buffer_size=prefetch))
    if workers:
      _grain_flags_parsed()
      stream = stream.mp_prefetch(grain.MultiprocessingOptions(
          num_workers=workers, per_worker_buffer_size=prefetch))
    return iter(stream)

  def steps_per_read(self) -> int:
    """Up to `STEPS_PER_READ_MAX` steps a read, as many as fit in `READ_BYTES_MAX` (at least
    one): reads of small batches amortize the loader's cost per element, and large batches are
    not held several times over (on the host, and as `shard_batches` sends them, on the
    devices)."""
    one = self.examples.batch(np.arange(1))  # at the dataset's size, the largest served
    size = len(range(self.batch_size)[self.rows]) * sum(leaf.nbytes for leaf in one.values())
    return max(1, min(STEPS_PER_READ_MAX, READ_BYTES_MAX // max(size, 1)))


STEPS_PER_READ_MAX = 8
READ_BYTES_MAX = 16 * 2 ** 20


class _Read(NamedTuple):
  """Element r of `EpochBatches.reads`: the batches of `per_read` steps from
  `start + r * per_read` (fewer at the end); picklable, for Grain's worker processes."""
  batches: EpochBatches
  start: int
  stop: int
  per_read: int

  def __call__(self, read: int) -> tuple[dict[str, np.ndarray], ...]:
    first = self.start + read * self.per_read
    return tuple(self.batches.batch(step)
                 for step in range(first, min(first + self.per_read, self.stop)))


def _grain_flags_parsed() -> None:
  """Grain's worker processes read absl flags, which a program that never parsed any (ours)
  must mark as parsed first, keeping their defaults."""
  from absl import flags
  if not flags.FLAGS.is_parsed():
    flags.FLAGS.mark_as_parsed()


class StepSizes(NamedTuple):
  """The side of the real images each step trains on (`EpochBatches`' `image_size`) as a table
  of the steps where it changes: a picklable function, for the loader's worker processes."""
  starts: tuple[int, ...]
  sizes: tuple[int | None, ...]

  def __call__(self, step: int) -> int | None:
    return self.sizes[bisect.bisect_right(self.starts, step) - 1]


def downsampled(images: np.ndarray, size: int) -> np.ndarray:
  """uint8 images `(n, h, w, c)` -> `(n, size, size, c)`, `h / size` a power of two: each level
  the mean of 2x2 blocks, in float32, rounded once at the end, as progressive_growing_of_gans'
  dataset_tool.py writes each lower level of detail (its `-rNN` files)."""
  levels = int(math.log2(images.shape[1] // size))
  if images.shape[1] != size * 2 ** levels or images.shape[2] != images.shape[1]:
    raise ValueError(f'cannot box-filter {images.shape[1]}x{images.shape[2]} images to {size}')
  x = images
  for _ in range(levels):
    x = x.astype(np.float32)
    x = (x[:, 0::2, 0::2] + x[:, 0::2, 1::2] + x[:, 1::2, 0::2] + x[:, 1::2, 1::2]) * 0.25
  return np.rint(x).clip(0, 255).astype(np.uint8) if levels else x


PAIRED_EMBEDDED = ('digits_x4',)
SUPER_RESOLUTION = 4  # digits_x4: the source is the digit at a quarter of its side


def load_pairs(spec: str, image_size: int, channels: int, data_dir: str | Path | None = None,
               report=print, direction: str = 'AtoB') -> Dataset:
  """Paired examples for translation (pix2pix): `source` and `image` (its target), uint8
  `(n, image_size, image_size, channels)` each.

  spec: `digits_x4[:train|:holdout]`, embedded: 4x super-resolution of the digits, the source
  being the digit box-filtered to a quarter of its side and enlarged back by repeating each
  pixel (the 1,347 digits the digits classifier trains on, or the 450 it holds out); or a
  folder in one of pix2pix's layouts: every image the A and B sides side by side, A on the left
  (the reference's `aligned` datasets, e.g. facades/train), or subfolders A/ and B/ holding
  files of the same names. Folders are prepared once into a cache as `load_dataset`'s.
  `direction` 'AtoB': A is the source and B the target; 'BtoA' the other way.
  """
  name, _, split = spec.partition(':')
  if name in PAIRED_EMBEDDED:
    if split not in ('', 'train', 'holdout'):
      raise DatasetError(f'{spec!r}: the digits pairs are {name}, {name}:train or {name}:holdout')
    target = load_dataset('digits', image_size, channels)[_digit_split()[split or 'train']]
    low = downsampled(target, image_size // SUPER_RESOLUTION)
    source = np.repeat(np.repeat(low, SUPER_RESOLUTION, axis=1), SUPER_RESOLUTION, axis=2)
    pairs = {'source': source, 'image': target}
  else:
    if spec in EMBEDDED or spec.startswith('tfds:'):
      raise DatasetError(f'dataset {spec!r} is not paired: translation needs pairs '
                         f'({", ".join(PAIRED_EMBEDDED)}, or a folder in pix2pix\'s layout)')
    both = _paired_folder(_folder(spec), image_size, channels,
                          Path(data_dir or DEFAULT_CACHE), report)
    a, b = both[:, 0], both[:, 1]
    pairs = {'source': a, 'image': b} if direction == 'AtoB' else {'source': b, 'image': a}
  return Dataset(ArrayExamples(pairs))


UNPAIRED_EMBEDDED = ('digits_styles',)


class UnpairedExamples:
  """Two unpaired image sets as examples, for CycleGAN: example i is A's image i mod |A| as
  `source` and B's image order[i] mod |B| as `image`, where `order` is a permutation drawn once
  (seed 0), for max(|A|, |B|) examples. The batches shuffle the examples each epoch, so which
  images meet in a batch changes; as in the reference, a pair means nothing."""

  def __init__(self, a, b):
    self.a, self.b = a, b
    self.order = np.random.default_rng(0).permutation(len(self)) % len(b)

  def __len__(self) -> int:
    return max(len(self.a), len(self.b))

  def batch(self, indices) -> dict[str, np.ndarray]:
    indices = np.asarray(indices)
    return {'source': np.asarray(self.a[indices % len(self.a)]),
            'image': np.asarray(self.b[self.order[indices]])}


def load_unpaired(spec: str, image_size: int, channels: int, data_dir: str | Path | None = None,
                  report=print) -> Dataset:
  """Unpaired examples for CycleGAN (`UnpairedExamples`: `source` from domain A, `image` from B).

  spec: `digits_styles[:train|:holdout]`, embedded: the digits as they are (A) and in bold (B:
  strokes thickened by a 5x5 maximum); or a folder in CycleGAN's layout, with subfolders
  trainA/ and trainB/ (testA/ and testB/ with `:test` after the folder), each prepared once
  into a cache as any folder."""
  name, _, split = spec.partition(':')
  if name in UNPAIRED_EMBEDDED:
    if split not in ('', 'train', 'holdout'):
      raise DatasetError(f'{spec!r}: the digits styles are {name}, {name}:train or '
                         f'{name}:holdout')
    a, b, _ = digit_styles(image_size, channels, split or 'train')
    return Dataset(UnpairedExamples(a, b))
  if spec in EMBEDDED or spec.startswith('tfds:') or name in PAIRED_EMBEDDED:
    raise DatasetError(f'dataset {spec!r} is not two domains: CycleGAN needs '
                       f'{", ".join(UNPAIRED_EMBEDDED)} or a folder with trainA/ and trainB/')
  folder, split = (Path(name), split) if split == 'test' else (Path(spec), 'train')
  sides = [_folder(str(folder / f'{split}{side}')) if (folder / f'{split}{side}').is_dir()
           else None for side in 'AB']
  if None in sides:
    raise DatasetError(f'{str(folder)!r} needs subfolders {split}A/ and {split}B/ (CycleGAN\'s '
                       f'layout)')
  a, b = (_folder_cache(side, image_size, channels, Path(data_dir or DEFAULT_CACHE), report)[0]
          for side in sides)
  return Dataset(UnpairedExamples(a, b))


def digit_styles(image_size: int, channels: int, split: str = 'train'):
  """The digits of `split` in two styles, aligned: (as they are, in bold, their classes). Bold:
  each stroke thickened by a 5x5 maximum (2 pixels on every side at 32x32)."""
  indices = _digit_split()[split]
  plain = load_dataset('digits', image_size, channels)[indices]
  padded = np.pad(plain, ((0, 0), (2, 2), (2, 2), (0, 0)))
  thick = np.max([padded[:, i:i + image_size, j:j + image_size]
                  for i in range(5) for j in range(5)], axis=0)
  return plain, thick, digits_and_classes()[1][indices].astype(np.int32)


@functools.cache
def digit_split_order() -> tuple[np.ndarray, np.ndarray]:
  """The digits classifier's split (`jaxgan.evaluate.digits`): the indices of its 1,347
  training digits and of its 450 held-out ones, in the order scikit-learn's stratified
  `train_test_split` (random_state 0) gives them, which is the order the classifier is fitted
  in."""
  from sklearn.model_selection import train_test_split
  target = digits_and_classes()[1]
  return tuple(train_test_split(np.arange(len(target)), test_size=450, random_state=0,
                                stratify=target))


def _digit_split() -> dict[str, np.ndarray]:
  """The digits' indices in the digits classifier's split, sorted."""
  train, holdout = digit_split_order()
  return {'train': np.sort(train), 'holdout': np.sort(holdout)}


def _paired_folder(folder: Path, image_size: int, channels: int, cache_root: Path,
                   report) -> np.ndarray:
  """A paired folder's images, `(n, 2, size, size, channels)` (A then B), from (or first into)
  a memory-mapped cache."""
  a, b = folder / 'A', folder / 'B'
  if any((folder / f'{split}{side}').is_dir() for split in ('train', 'test') for side in 'AB'):
    raise DatasetError(f'{str(folder)!r} is in CycleGAN\'s layout (trainA/, trainB/: two '
                       f'unpaired domains), which pix2pix cannot pair: give pix2pix a folder of '
                       f'A|B images side by side or with A/ and B/, or train --config cyclegan')
  if a.is_dir() and b.is_dir():
    names_a = {p.relative_to(a) for p in _image_files(a)}
    names_b = {p.relative_to(b) for p in _image_files(b)}
    if names_a != names_b:
      only = lambda names: f'{len(names)} ({", ".join(map(str, sorted(names)[:3]))}' \
          f'{", ..." if len(names) > 3 else ""})'
      raise DatasetError(f'A/ and B/ of {str(folder)!r} must hold files of the same names: '
                         f'{only(names_a - names_b)} only in A/, {only(names_b - names_a)} '
                         f'only in B/')
    items = [(a / name, b / name) for name in sorted(names_a)]
    files = [path for pair in items for path in pair]
    read = lambda pair: _read_pair(*pair, image_size=image_size, channels=channels)
    layout = 'AB'
  else:
    files = _image_files(folder)
    items = files
    read = lambda path: _read_aligned(path, image_size, channels)
    layout = 'aligned'
  cache = cache_root / 'folders' / (f'{folder.name}-{_fingerprint(folder, files)}-{layout}-'
                                    f'{image_size}x{image_size}x{channels}.npy')
  if not cache.exists():
    try:
      _prepare(items, cache, image_size, channels, report, read=read,
               item_shape=(2, image_size, image_size, channels))
    except OSError as error:
      raise DatasetError(f'cannot write the dataset cache {str(cache)!r} '
                         f'({error.strerror or error}); choose another --data-dir') from None
  return np.load(cache, mmap_mode='r')


def _read_pair(a: Path, b: Path, image_size: int, channels: int) -> np.ndarray | None:
  images = [_read(path, image_size, channels) for path in (a, b)]
  return None if any(image is None for image in images) else np.stack(images)


def _read_aligned(path: Path, image_size: int, channels: int) -> np.ndarray | None:
  """An image holding A and B side by side, split into its halves, each fitted."""
  try:
    with Image.open(path) as image:
      image.load()
      width, height = image.size
      half = width // 2
      sides = [image.crop((0, 0, half, height)), image.crop((half, 0, 2 * half, height))]
      return np.stack([_fit(side, image_size, channels) for side in sides])
  except (OSError, ValueError, Image.DecompressionBombError, SyntaxError):
    return None
