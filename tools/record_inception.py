"""Records what pytorch-fid computes, for `tests/test_inception.py` (which then needs no torch).

  python tools/record_inception.py    # needs torch, torchvision and pytorch-fid 0.3.0

pytorch-fid's `InceptionV3()` (the FID network: block 3, resize to 299, scaling to [-1, 1]) is
built with `jaxgan.evaluate.inception.random_params(SEED)` as its weights, put in place of the
download (`load_state_dict_from_url`), and run on real images (scikit-learn's digits, as RGB, at
32, 64 and 320 pixels: resized up and down to 299). Its pool3 features, and `calculate_frechet_distance` on statistics of two kinds (a
full-rank pair and a rank-deficient pair, whose product's square root is singular), are written
to tests/fixtures/inception_reference.npz with the versions used.
"""

import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
FIXTURE = ROOT / 'tests' / 'fixtures' / 'inception_reference.npz'
SEED = 0


def images(size: int, count: int = 4) -> np.ndarray:
  """`count` of the digits as uint8 RGB `(count, size, size, 3)`: each digit in one channel,
  its neighbours in the others (distinct colours), nearest-neighbour upscaled."""
  from sklearn.datasets import load_digits
  digits = (load_digits().images * (255 / 16)).astype(np.uint8)
  rgb = np.stack([digits[:count], digits[1:count + 1], digits[2:count + 2]], -1)
  return rgb.repeat(size // 8, axis=1).repeat(size // 8, axis=2)


def statistics(rng, dims: int, samples: int):
  """The mean and covariance of `samples` random correlated points in `dims` dimensions."""
  points = rng.standard_normal((samples, dims)) @ rng.standard_normal((dims, dims)) + rng.normal(
      size=dims)
  return points.mean(0), np.cov(points, rowvar=False)


def main():
  import torch
  register_fake = torch.library.register_fake  # torchvision's CUDA wheels with a CPU-only torch:
  torch.library.register_fake = lambda *args, **kwargs: (lambda f: f)  # skip its op stubs
  import torchvision
  torch.library.register_fake = register_fake
  import pytorch_fid
  from pytorch_fid import fid_score, inception

  from jaxgan.evaluate.inception import random_params, to_state_dict

  state_dict = {name: torch.from_numpy(value) for name, value in
                to_state_dict(random_params(SEED)).items()}
  inception.load_state_dict_from_url = lambda *args, **kwargs: state_dict
  network = inception.InceptionV3().eval()
  record = {'seed': np.array(SEED)}
  for size in (32, 64, 320):
    pixels = images(size)
    with torch.no_grad():
      batch = torch.from_numpy(pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255)
      features = network(batch)[0].squeeze(-1).squeeze(-1).numpy()
    record[f'images_{size}'], record[f'features_{size}'] = pixels, features
  rng = np.random.default_rng(1)
  for kind, samples in (('full_rank', 400), ('rank_deficient', 20)):
    (mu1, sigma1), (mu2, sigma2) = statistics(rng, 64, samples), statistics(rng, 64, samples)
    record.update({f'{kind}/mu1': mu1, f'{kind}/sigma1': sigma1, f'{kind}/mu2': mu2,
                   f'{kind}/sigma2': sigma2,
                   f'{kind}/fid': np.array(fid_score.calculate_frechet_distance(
                       mu1, sigma1, mu2, sigma2))})
  record['versions'] = np.array(f'torch {torch.__version__}, torchvision '
                                f'{torchvision.__version__}, pytorch-fid '
                                f'{pytorch_fid.__version__}')
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes): {record["versions"]}')


if __name__ == '__main__':
  main()
