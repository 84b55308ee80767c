"""Records what the reference implementations of the metrics compute, for `tests/test_metrics.py`
(which then needs none of them).

  pip install torch==2.13.0 pytorch-fid==0.3.0 torch-fidelity==0.4.0 prdc==0.2
  pip install --no-deps torchvision      # imported by all three; its C++ ops are not needed
  python tools/record_metrics.py

On features that the test reads back from the fixture:
  - FID: pytorch-fid's `fid_score.calculate_activation_statistics` (its mean and covariance of
    the activations; here of pool3 features its own `InceptionV3` computed, with
    `jaxgan.evaluate.inception.random_params` as its weights, of 24 digits and of 24 other
    digits in other colours) and `calculate_frechet_distance` of the two;
  - KID, precision/recall and the Inception Score: torch-fidelity's `kid_features_to_metric`,
    `prc_features_to_metric` and `isc_features_to_metric` with every default (100 subsets of
    1,000, the cubic kernel; k = 3; 10 splits; its rng_seed 2020);
  - density and coverage: prdc's `compute_prdc` (Naeem et al.'s code) at the paper's k = 5.
The covariance is stored as its diagonal, one 64 x 64 block and its product with a fixed vector:
the whole 2048 x 2048 matrix would be 32 MB.
"""

import contextlib
import io
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / 'tools'))
FIXTURE = ROOT / 'tests' / 'fixtures' / 'metrics_reference.npz'
SEED = 0
FID_IMAGES = 24  # per set
SIZE = 64


def import_torchvision():
  """torchvision's PyPI wheels with a CPU-only torch: skip its C++ operators' stubs."""
  import torch
  register_fake = torch.library.register_fake
  torch.library.register_fake = lambda *args, **kwargs: (lambda f: f)
  import torchvision
  torch.library.register_fake = register_fake
  return torchvision


def digit_sets(size: int, count: int) -> tuple[np.ndarray, np.ndarray]:
  """Two sets of `count` uint8 RGB digits: the first digits in their `record_inception.images`
  colours, and the next `count` digits in grey."""
  from record_inception import images
  first = images(size, count)
  second = images(size, 2 * count)[count:]
  return first, np.repeat(second.mean(-1, keepdims=True), 3, -1).astype(np.uint8)


def main():
  import torch
  torchvision = import_torchvision()
  import prdc
  import pytorch_fid
  import torch_fidelity
  from pytorch_fid import fid_score, inception
  from torch_fidelity import metric_isc, metric_kid, metric_prc

  from jaxgan.evaluate.inception import random_params, to_state_dict

  record = {}
  # FID: pool3 features of two sets of images, rounded to float16 (half the fixture), then
  # pytorch-fid's statistics of exactly those features and its distance.
  state_dict = {name: torch.from_numpy(value) for name, value in
                to_state_dict(random_params(SEED)).items()}
  inception.load_state_dict_from_url = lambda *args, **kwargs: state_dict
  network = inception.InceptionV3().eval()
  stats = []
  for name, pixels in zip(('a', 'b'), digit_sets(SIZE, FID_IMAGES)):
    with torch.no_grad():
      batch = torch.from_numpy(pixels.transpose(0, 3, 1, 2).astype(np.float32) / 255)
      features = network(batch)[0].squeeze(-1).squeeze(-1).numpy().astype(np.float16)
    fid_score.get_activations = lambda *args, features=features, **kwargs: features.astype(
        np.float32)
    mu, sigma = fid_score.calculate_activation_statistics([], network)
    stats.append((mu, sigma))
    record.update({f'fid/features_{name}': features, f'fid/mu_{name}': mu,
                   f'fid/sigma_diagonal_{name}': np.diagonal(sigma).copy(),
                   f'fid/sigma_block_{name}': sigma[:64, :64]})
  probe = np.random.default_rng(SEED).standard_normal(2048)
  record['fid/probe'] = probe
  for name, (_, sigma) in zip(('a', 'b'), stats):
    record[f'fid/sigma_times_probe_{name}'] = sigma @ probe
  record['fid/distance'] = np.array(fid_score.calculate_frechet_distance(*stats[0], *stats[1]))

  # KID, precision/recall, IS, density/coverage: features of 8 dimensions, a generated set
  # shifted and scaled from the real one, enough of each for KID's subsets of 1,000.
  rng = np.random.default_rng(SEED + 1)
  real = rng.standard_normal((1100, 8)).astype(np.float32)
  fake = (1.2 * rng.standard_normal((1050, 8)) + 0.15).astype(np.float32)
  logits = (3 * rng.standard_normal((500, 20))).astype(np.float32)
  record.update({'real': real, 'fake': fake, 'logits': logits})
  fake_t, real_t = torch.from_numpy(fake), torch.from_numpy(real)  # its input1 is generated
  kid = metric_kid.kid_features_to_metric(fake_t, real_t, **{'verbose': False})
  record['kid'] = np.array([kid['kernel_inception_distance_mean'],
                            kid['kernel_inception_distance_std']])
  prc = metric_prc.prc_features_to_metric(fake_t, real_t, **{'verbose': False})
  record['precision_recall'] = np.array([prc['precision'], prc['recall']])
  isc = metric_isc.isc_features_to_metric(torch.from_numpy(logits))  # its defaults
  record['inception_score'] = np.array([isc['inception_score_mean'],
                                        isc['inception_score_std']])
  with contextlib.redirect_stdout(io.StringIO()):  # it prints the sample counts
    dc = prdc.compute_prdc(real, fake, nearest_k=5)
  record['density_coverage'] = np.array([dc['density'], dc['coverage']])
  record['versions'] = np.array(
      f'torch {torch.__version__}, torchvision {torchvision.__version__}, pytorch-fid '
      f'{pytorch_fid.__version__}, torch-fidelity {torch_fidelity.__version__}, prdc '
      f'{getattr(prdc, "__version__", "0.2")}')
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes): {record["versions"]}')


if __name__ == '__main__':
  main()
