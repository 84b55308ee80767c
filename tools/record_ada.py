"""Records what stylegan2-ada-pytorch's augmentation pipeline computes, for `tests/test_ada.py`.

  python tools/record_ada.py --reference DIR      # DIR: a clone of the reference

Needs torch and a clone of https://github.com/NVlabs/stylegan2-ada-pytorch. Its `AugmentPipe`
takes a `debug_percentile` that replaces every random draw by the value at that percentile
(the reference's own way to test it); with p = 1 every transformation applies. For each
transformation alone and for the whole 'bgc' pipeline, at two percentiles, the outputs on RGB
and grey images go to tests/fixtures/ada_reference.npz (NHWC).
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / 'tests' / 'fixtures' / 'ada_reference.npz'
OPS = ('xflip', 'rotate90', 'xint', 'scale', 'rotate', 'aniso', 'xfrac', 'brightness',
       'contrast', 'lumaflip', 'hue', 'saturation')
PERCENTILES = (0.8, 0.3)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reference', required=True, type=Path)
  args = parser.parse_args()
  sys.path.insert(0, str(args.reference))
  import torch
  from training.augment import AugmentPipe

  rng = np.random.default_rng(0)
  record = {'rgb': rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32),
            'grey': rng.uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32)}
  for name in (*OPS, 'bgc'):
    pipe = AugmentPipe(**({op: 1 for op in OPS} if name == 'bgc' else {name: 1}))
    pipe.p.copy_(torch.ones([]))
    for percentile in PERCENTILES:
      for kind in ('rgb', 'grey'):
        images = torch.from_numpy(record[kind].transpose(0, 3, 1, 2).copy())
        with torch.no_grad():
          out = pipe(images, debug_percentile=percentile)
        record[f'{name}/{percentile}/{kind}'] = out.numpy().transpose(0, 2, 3, 1)
  FIXTURE.parent.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes), torch {torch.__version__}')


if __name__ == '__main__':
  main()
