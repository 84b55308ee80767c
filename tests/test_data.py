import numpy as np
import pytest
import tensorflow_datasets as tfds
from PIL import Image

from jaxgan import data, families


def test_digits_are_the_real_sklearn_digits():
  """Read from the file scikit-learn ships (`digits_and_classes`), as `load_digits` reads it."""
  images = data.load_dataset('digits', 8, 1)
  assert images.shape == (1797, 8, 8, 1) and images.dtype == np.uint8
  from sklearn.datasets import load_digits
  np.testing.assert_array_equal(images[..., 0], np.round(load_digits().images * 255 / 16))
  labelled = data.load_examples('digits', 8, 1, labels=True).examples.batch(np.arange(1797))
  np.testing.assert_array_equal(labelled['label'], load_digits().target)


def test_the_digits_classifiers_split_is_scikit_learns():
  """The split `jaxgan.evaluate.digits` fits and checks its classifier on, in scikit-learn's
  order (which the classifier's calibration folds follow), computed from the shipped file."""
  from sklearn.datasets import load_digits
  from sklearn.model_selection import train_test_split

  from jaxgan.evaluate import digits
  loaded = load_digits()
  expected = train_test_split(loaded.data, loaded.target, test_size=450, random_state=0,
                              stratify=loaded.target)
  for ours, theirs in zip(digits._split(), expected, strict=True):
    assert ours.dtype == theirs.dtype
    np.testing.assert_array_equal(ours, theirs)


def test_digits_resized_and_converted_to_rgb():
  images = data.load_dataset('digits', 16, 3)
  assert images.shape == (1797, 16, 16, 3)
  np.testing.assert_array_equal(images[..., 0], images[..., 2])


def _examples(images, labels=None):
  """In-memory examples: images, with a label per image when given."""
  arrays = {'image': images} if labels is None else {'image': images, 'label': labels}
  return data.ArrayExamples(arrays)


def test_epochs_are_seeded_permutations_and_resumable():
  """Batches are dicts; every entry follows the same order (here the label is the image's
  value, so a mismatch shows)."""
  images = np.arange(10, dtype=np.uint8).reshape(10, 1, 1, 1)
  examples = _examples(images, np.arange(10, dtype=np.int32))
  batches = data.EpochBatches(examples, batch_size=3, seed=7)
  assert batches.steps_per_epoch == 3
  for step in range(6):
    batch = batches.batch(step)
    np.testing.assert_array_equal(batch['image'].ravel(), batch['label'])
  epoch0 = np.concatenate([batches.batch(s)['image'] for s in range(3)]).ravel()
  epoch1 = np.concatenate([batches.batch(s)['image'] for s in range(3, 6)]).ravel()
  assert len(set(epoch0)) == 9 and len(set(epoch1)) == 9  # no image twice in an epoch
  assert not np.array_equal(epoch0, epoch1)
  # Same seed, same batches; a stream started at step 4 is the uninterrupted stream's tail.
  again = data.EpochBatches(examples, batch_size=3, seed=7)
  stream = again.iterate(0)
  uninterrupted = [next(stream) for _ in range(8)]
  resumed = data.EpochBatches(examples, batch_size=3, seed=7).iterate(4)
  for want in uninterrupted[4:]:
    got = next(resumed)
    assert set(got) == set(want) == {'image', 'label'}
    for name in want:
      np.testing.assert_array_equal(got[name], want[name])
  other_seed = data.EpochBatches(examples, batch_size=3, seed=8)
  assert not np.array_equal(other_seed.batch(0)['image'], batches.batch(0)['image'])


def test_grain_worker_processes_read_the_batches_of_one_reader(tmp_path):
  """Grain's worker processes (`workers=2`) serve, from a resumed step, bitwise the batches
  that `batch(step)` makes in this process: the order from (seed, epoch), the flips from (seed,
  step), each process's rows. A memory-mapped cache reaches the workers as its file name."""
  rng = np.random.default_rng(0)
  np.save(tmp_path / 'cache.npy', rng.integers(0, 256, (50, 4, 4, 1), dtype=np.uint8))
  cached = np.load(tmp_path / 'cache.npy', mmap_mode='r')
  examples = data.ArrayExamples({'image': cached, 'label': np.arange(50, dtype=np.int32)})
  import pickle
  shipped = pickle.dumps(examples)
  assert len(shipped) < cached.nbytes and isinstance(pickle.loads(shipped).arrays['image'],
                                                     np.memmap)
  batches = data.EpochBatches(examples, batch_size=8, seed=3, hflip=True, rows=slice(2, 6))
  stream = batches.iterate(5, 45, workers=2)  # 5 reads of 8 steps
  for step in range(5, 45):
    got, want = next(stream), batches.batch(step)
    for name in want:
      np.testing.assert_array_equal(got[name], want[name])
  assert next(stream, None) is None


def test_stage_sizes_are_the_games_at_every_step():
  from jaxgan import configs
  from jaxgan.train import _image_sizes
  config = configs.get('pggan').replace(image_size=16, channel_base=32, channel_max=4,
                                        batch_size=8, stage_kimg=0.04, fade_kimg=0.024)
  game = families.game(config)
  steps = 40
  sizes = _image_sizes(game, steps)
  assert [sizes(step) for step in range(steps)] == \
      [game.image_size(game.stage(step)) for step in range(steps)]
  assert len(set(sizes.sizes)) == 3
  assert _image_sizes(families.game(configs.get('digits')), 100) is None


def test_too_few_images_for_a_batch():
  with pytest.raises(data.DatasetError, match='fewer than one batch'):
    data.EpochBatches(_examples(np.zeros((2, 1, 1, 1), np.uint8)), batch_size=3, seed=0)


def test_hflip_mirrors_about_half_and_resumes_identically():
  images = np.arange(40 * 2, dtype=np.uint8).reshape(40, 1, 2, 1)  # left != right in each
  labels = np.arange(40, dtype=np.int32)
  plain = data.EpochBatches(_examples(images, labels), batch_size=40, seed=3).batch(5)
  flipped = data.EpochBatches(_examples(images, labels), batch_size=40, seed=3, hflip=True)
  mirrored = np.all(flipped.batch(5)['image'] == plain['image'][:, :, ::-1], axis=(1, 2, 3))
  kept = np.all(flipped.batch(5)['image'] == plain['image'], axis=(1, 2, 3))
  assert np.all(mirrored ^ kept) and 10 < mirrored.sum() < 30
  np.testing.assert_array_equal(flipped.batch(5)['label'], plain['label'])  # labels unflipped
  np.testing.assert_array_equal(
      flipped.batch(5)['image'],
      data.EpochBatches(_examples(images), 40, seed=3, hflip=True).batch(5)['image'])


def _write_folder(root, rng, count=12):
  """Images of mixed sizes, modes and formats, some in a subfolder, plus a text file."""
  (root / 'sub').mkdir(parents=True)
  for i in range(count):
    height, width = rng.integers(20, 60, 2)
    image = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8))
    image = [image, image.convert('L'), image.convert('RGBA'), image.convert('P')][i % 4]
    suffix = ['.png', '.jpg' if i % 4 < 2 else '.png', '.webp'][i % 3]
    image.save(root / ('sub' if i % 2 else '.') / f'{i:03d}{suffix}')
  (root / 'README.txt').write_text('not an image')


def test_folder_is_found_recursively_fitted_and_cached_once(tmp_path, monkeypatch):
  folder = tmp_path / 'faces'
  _write_folder(folder, np.random.default_rng(0))
  images = data.load_dataset(str(folder), 16, 3, data_dir=tmp_path / 'cache')
  assert images.shape == (12, 16, 16, 3) and images.dtype == np.uint8
  # Reading again decodes nothing; a changed folder is prepared again.
  monkeypatch.setattr(data, '_read', lambda *args: pytest.fail('decoded again'))
  np.testing.assert_array_equal(data.load_dataset(str(folder), 16, 3, data_dir=tmp_path / 'cache'),
                                images)
  monkeypatch.undo()
  Image.new('RGB', (30, 20), (255, 0, 0)).save(folder / 'sub' / 'new.png')
  assert data.load_dataset(str(folder), 16, 3, data_dir=tmp_path / 'cache').shape[0] == 13
  cached = sorted(p.name for p in (tmp_path / 'cache' / 'folders').iterdir())
  assert len(cached) == 4 and not any('partial' in name for name in cached)  # 2 x (.npy, .json)


def test_center_crop_resize_and_mode_conversion(tmp_path):
  wide = np.zeros((20, 60, 3), np.uint8)
  wide[:, :20] = (255, 0, 0)
  wide[:, 20:40] = (0, 255, 0)  # the center square
  wide[:, 40:] = (0, 0, 255)
  (tmp_path / 'wide').mkdir()
  Image.fromarray(wide).save(tmp_path / 'wide' / 'a.png')
  rgb = data.load_dataset(str(tmp_path / 'wide'), 10, 3, data_dir=tmp_path / 'cache')
  np.testing.assert_array_equal(rgb[0], np.broadcast_to([0, 255, 0], (10, 10, 3)))
  gray = data.load_dataset(str(tmp_path / 'wide'), 10, 1, data_dir=tmp_path / 'cache')
  assert gray.shape == (1, 10, 10, 1) and np.all(gray == round(0.587 * 255))  # ITU-R 601 luma


def test_corrupt_truncated_and_bomb_files_are_skipped_and_reported_once(tmp_path, monkeypatch):
  folder = tmp_path / 'mixed'
  _write_folder(folder, np.random.default_rng(1))
  (folder / 'garbage.jpg').write_bytes(b'\xff\xd8 not really a jpeg')
  whole = (folder / '000.png').read_bytes()
  (folder / 'truncated.png').write_bytes(whole[:len(whole) // 2])
  Image.new('L', (200, 200)).save(folder / 'bomb.png')  # a bomb under the limit set below
  monkeypatch.setattr(Image, 'MAX_IMAGE_PIXELS', 10_000)
  reports = []
  images = data.load_dataset(str(folder), 8, 3, data_dir=tmp_path / 'cache', report=reports.append)
  assert images.shape == (12, 8, 8, 3)
  assert len(reports) == 1 and reports[0].startswith('skipped 3 of 15 image files')
  for name in ('garbage.jpg', 'truncated.png', 'bomb.png'):
    assert name in reports[0]


@pytest.mark.parametrize('make, message', [
    (lambda root: None, 'neither an embedded dataset'),
    (lambda root: root.mkdir(), 'no .jpg, .jpeg, .png or .webp files'),
    (lambda root: (root.mkdir(), (root / 'x.png').write_bytes(b'junk')), 'none of the 1 image'),
    (lambda root: root.write_text('a file'), 'is a file'),
])
def test_unusable_folders_raise_dataset_errors(tmp_path, make, message):
  root = tmp_path / 'data'
  make(root)
  with pytest.raises(data.DatasetError, match=message):
    data.load_dataset(str(root), 8, 1, data_dir=tmp_path / 'cache')


class TinyImages(tfds.core.GeneratorBasedBuilder):
  """A real TFDS dataset in array_record, prepared by the test (no network, no TensorFlow)."""

  VERSION = tfds.core.Version('1.0.0')

  def _info(self):
    image = tfds.features.Image(shape=(None, None, 3), encoding_format='png')
    features = tfds.features.FeaturesDict({'image': image})
    return tfds.core.DatasetInfo(builder=self, features=features)

  def _split_generators(self, dl_manager):
    return {'train': self._generate_examples(5), 'test': self._generate_examples(3)}

  def _generate_examples(self, count):
    for i in range(count):
      yield i, {'image': Image.new('RGB', (30 + i, 20), (10 * count, i, 0))}


def test_tfds_array_record_split_is_read_by_index(tmp_path):
  TinyImages(data_dir=tmp_path, file_format='array_record').download_and_prepare()
  test = data.load_dataset('tfds:tiny_images:test', 8, 3, data_dir=tmp_path)
  assert len(test) == 3
  batch = test[np.array([0, 1, 2])]
  assert batch.shape == (3, 8, 8, 3) and batch.dtype == np.uint8
  # TFDS shuffles records when it prepares: each example once, in its own order.
  assert sorted(map(tuple, batch[:, 0, 0])) == [(30, 0, 0), (30, 1, 0), (30, 2, 0)]
  assert len(data.load_dataset('tfds:tiny_images', 8, 3, data_dir=tmp_path)) == 5  # train


def test_tfds_grayscale_through_mock_data():
  with tfds.testing.mock_data(num_examples=4, policy=tfds.testing.MockPolicy.USE_CODE):
    mnist = data.load_dataset('tfds:mnist', 16, 1)
    assert len(mnist) == 4 and mnist[np.arange(4)].shape == (4, 16, 16, 1)
    assert data.load_dataset('tfds:mnist', 16, 3)[np.array([1])].shape == (1, 16, 16, 3)


def test_unprepared_tfds_dataset_fails_fast_with_how_to_prepare(tmp_path):
  with pytest.raises(data.DatasetError, match='tfds build mnist --file_format=array_record'):
    data.load_dataset('tfds:mnist', 8, 1, data_dir=tmp_path)


def test_process_rows_are_the_matching_slice_of_the_global_batch():
  images = np.arange(24 * 2, dtype=np.uint8).reshape(24, 1, 2, 1)
  examples = _examples(images, np.arange(24, dtype=np.int32))
  whole = data.EpochBatches(examples, batch_size=8, seed=1, hflip=True)
  halves = [data.EpochBatches(examples, 8, seed=1, hflip=True, rows=slice(4 * p, 4 * p + 4))
            for p in range(2)]
  for step in range(5):
    for name in ('image', 'label'):
      np.testing.assert_array_equal(np.concatenate([h.batch(step)[name] for h in halves]),
                                    whole.batch(step)[name])


def test_labels_from_the_digits():
  dataset = data.load_examples('digits', 8, 1, labels=True)
  from sklearn.datasets import load_digits
  assert dataset.classes == tuple('0123456789')
  batch = dataset.examples.batch(np.arange(5))
  np.testing.assert_array_equal(batch['label'], load_digits().target[:5])
  assert batch['label'].dtype == np.int32 and batch['image'].shape == (5, 8, 8, 1)
  assert set(data.load_examples('digits', 8, 1).examples.batch(np.arange(2))) == {'image'}
  assert set(data.load_examples('ring8', 8, 1).examples.batch(np.arange(2))) == {'point'}
  with pytest.raises(data.DatasetError, match="'ring8' has no labels"):
    data.load_examples('ring8', 8, 1, labels=True)


def test_labels_from_class_subfolders(tmp_path):
  """One subfolder per class, found recursively below it, classes in sorted order (as Keras'
  `image_dataset_from_directory` and torchvision's `ImageFolder`); a corrupt file is skipped
  without shifting the labels of the others."""
  colors = {'cat': (255, 0, 0), 'dog': (0, 255, 0), 'ant': (0, 0, 255)}
  for i, (name, color) in enumerate(colors.items()):
    (tmp_path / 'pets' / name / 'deep').mkdir(parents=True)
    for j in range(i + 2):
      Image.new('RGB', (12, 10), color).save(tmp_path / 'pets' / name / f'{j}.png')
    Image.new('RGB', (12, 10), color).save(tmp_path / 'pets' / name / 'deep' / 'x.png')
  (tmp_path / 'pets' / 'cat' / 'broken.png').write_bytes(b'junk')
  dataset = data.load_examples(str(tmp_path / 'pets'), 4, 3, data_dir=tmp_path / 'cache',
                               labels=True, report=lambda line: None)
  assert dataset.classes == ('ant', 'cat', 'dog')
  batch = dataset.examples.batch(np.arange(len(dataset.examples)))
  assert len(batch['label']) == 4 + 3 + 5
  for label, name in enumerate(dataset.classes):
    images = batch['image'][batch['label'] == label]
    assert np.all(images == colors[name]), name
  np.testing.assert_array_equal(np.bincount(batch["label"]), [5, 3, 4])  # ant, cat, dog


def test_labels_need_class_subfolders(tmp_path):
  flat = tmp_path / 'flat'
  flat.mkdir()
  for j in range(3):
    Image.new('RGB', (8, 8)).save(flat / f'{j}.png')
  with pytest.raises(data.DatasetError, match="labels need one subfolder per class.*'.*flat' "
                                              "has 0 class subfolders"):
    data.load_examples(str(flat), 4, 3, data_dir=tmp_path / 'cache', labels=True)
  (flat / 'a').mkdir()
  Image.new('RGB', (8, 8)).save(flat / 'a' / 'x.png')
  with pytest.raises(data.DatasetError, match=r'has 1 class subfolders \(3 images directly'):
    data.load_examples(str(flat), 4, 3, data_dir=tmp_path / 'cache', labels=True)
  assert len(data.load_examples(str(flat), 4, 3, data_dir=tmp_path / 'cache').examples) == 4


def test_labels_and_class_names_from_tfds():
  with tfds.testing.mock_data(num_examples=6, policy=tfds.testing.MockPolicy.USE_CODE):
    dataset = data.load_examples('tfds:mnist', 8, 1, labels=True)
    assert dataset.classes == tuple(str(c) for c in range(10))
    batch = dataset.examples.batch(np.arange(6))
    assert batch['image'].shape == (6, 8, 8, 1) and batch['label'].dtype == np.int32
    assert np.all((batch['label'] >= 0) & (batch['label'] < 10))
    unlabelled = data.load_examples('tfds:mnist', 8, 1).examples.batch(np.arange(2))
    assert set(unlabelled) == {'image'}


def test_tfds_without_a_label_feature(tmp_path):
  TinyImages(data_dir=tmp_path, file_format='array_record').download_and_prepare()
  with pytest.raises(data.DatasetError, match="'tiny_images' has no class label feature"):
    data.load_examples('tfds:tiny_images', 8, 3, data_dir=tmp_path, labels=True)


def _png_16bit_rgb(path, pixels):
  """A 48-bit RGB PNG (PIL writes none): the format's chunks written out."""
  import struct
  import zlib
  height, width, _ = pixels.shape
  chunk = lambda kind, body: (struct.pack('>I', len(body)) + kind + body
                              + struct.pack('>I', zlib.crc32(kind + body) & 0xffffffff))
  rows = b''.join(b'\x00' + row.astype('>u2').tobytes() for row in pixels)
  path.write_bytes(b'\x89PNG\r\n\x1a\n'
                   + chunk(b'IHDR', struct.pack('>IIBBBBB', width, height, 16, 2, 0, 0, 0))
                   + chunk(b'IDAT', zlib.compress(rows)) + chunk(b'IEND', b''))


def _luma(rgb):
  """PIL's RGB -> L (ITU-R 601-2), rounded."""
  return np.floor(rgb[..., 0] * 0.299 + rgb[..., 1] * 0.587 + rgb[..., 2] * 0.114 + 0.5)


@pytest.mark.parametrize('channels', [1, 3])
def test_every_image_mode_is_scaled_to_8_bits_not_clipped(tmp_path, channels):
  """Each mode PIL reads, from a file (or in memory for the modes PNG cannot hold), against
  its conversion written out: 16-bit grey x 255 / 65535, 16-bit RGB's high bytes (PIL's
  reading), 32-bit integers as 16-bit ones where they fit, floats from [0, 1], palettes with a
  transparent colour by their colours, grey with alpha and RGBA without the alpha, bilevel."""
  rng = np.random.default_rng(0)
  ramp = (np.arange(64).reshape(8, 8) * 1040 + 17).astype(np.uint16)  # 17 .. 65537
  levels = ramp.astype(np.float64)
  rgb16 = rng.integers(0, 65536, (8, 8, 3)).astype(np.uint16)
  rgb8 = rng.integers(0, 256, (8, 8, 3)).astype(np.uint8)
  palette = Image.fromarray(rgb8).quantize(16)
  palette.info['transparency'] = 3
  as_rgb = lambda grey: np.repeat(grey[..., None], 3, -1)
  cases = {  # name: (the image, its 8-bit RGB written out)
      'I;16': (Image.fromarray(ramp), as_rgb(np.round(levels * 255 / 65535))),
      'RGB 16-bit': (None, rgb16 >> 8),
      'I': (Image.fromarray(ramp.astype(np.int32)), as_rgb(np.round(levels * 255 / 65535))),
      'I 32-bit': (Image.fromarray(ramp.astype(np.int32) * 30000),
                   as_rgb(np.round(levels * 30000 * 255 / (2 ** 31 - 1)))),
      'F': (Image.fromarray((ramp / 65535).astype(np.float32) * 1.2 - 0.1),
            as_rgb(np.round(np.clip(levels / 65535 * 1.2 - 0.1, 0, 1) * 255))),
      'P': (palette, np.asarray(palette.convert('RGB'))),
      'LA': (Image.fromarray(np.stack([rgb8[..., 0], rgb8[..., 1]], -1), 'LA'),
             as_rgb(rgb8[..., 0])),
      'RGBA': (Image.fromarray(np.concatenate([rgb8, rgb8[..., :1]], -1), 'RGBA'), rgb8),
      '1': (Image.fromarray(rgb8[..., 0] > 127), as_rgb((rgb8[..., 0] > 127) * 255)),
  }
  for name, (image, want) in cases.items():
    path = tmp_path / f'{name.replace(" ", "_")}.png'
    if image is None:
      _png_16bit_rgb(path, rgb16)
    elif name in ('I', 'I 32-bit', 'F'):  # no PNG holds these: the reader's fitting in memory
      got = data._fit(image, 8, channels)
    else:
      image.save(path)
      with Image.open(path) as reopened:
        assert reopened.mode == name, name
    if image is None or name not in ('I', 'I 32-bit', 'F'):
      got = data._read(path, 8, channels)
    want = want.astype(np.uint8)
    want = want if channels == 3 else _luma(want)[..., None]
    np.testing.assert_allclose(got, want, atol=0 if channels == 3 or name != 'P' else 1,
                               err_msg=name)


def test_a_folder_of_16_bit_images_trains_on_their_pixels_not_white(tmp_path):
  """A 16-bit greyscale PNG in a dataset folder is cached with its pixels scaled, for 1 and 3
  channels (PIL's convert would clip every value above 255 to white)."""
  folder = tmp_path / 'grey16'
  folder.mkdir()
  pixels = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
  Image.fromarray(pixels).save(folder / 'a.png')
  for channels in (1, 3):
    cached = data.load_dataset(str(folder), 8, channels, data_dir=tmp_path / 'cache')
    np.testing.assert_array_equal(cached[0], np.repeat(
        np.round(pixels.astype(np.float64) * 255 / 65535).astype(np.uint8)[..., None],
        channels, -1))


def test_a_folder_cached_by_an_older_reader_is_read_again(tmp_path, monkeypatch):
  """A cache an older version wrote (its 16-bit images white) is not taken for this version's:
  the reader's format is part of every folder cache's name."""
  folder = tmp_path / 'grey16'
  folder.mkdir()
  pixels = (np.arange(64).reshape(8, 8) * 1000).astype(np.uint16)
  Image.fromarray(pixels).save(folder / 'a.png')
  with monkeypatch.context() as old_version:
    old_version.setattr(data, 'FOLDER_CACHE_FORMAT', '')
    data.load_dataset(str(folder), 8, 1, data_dir=tmp_path / 'cache')
  [old_cache] = (tmp_path / 'cache' / 'folders').glob('*.npy')
  np.save(old_cache, np.full((1, 8, 8, 1), 255, np.uint8))  # what the old reader cached
  read = data.load_dataset(str(folder), 8, 1, data_dir=tmp_path / 'cache')
  np.testing.assert_array_equal(read[0, ..., 0],
                                np.round(pixels.astype(np.float64) * 255 / 65535))
