"""Records what brownvc/R3GAN's networks compute, for `tests/test_r3gan.py`.

  python tools/record_r3gan.py --reference DIR      # DIR: a clone of brownvc/R3GAN

Needs torch and a clone of https://github.com/brownvc/R3GAN (its custom ops fall back to their
reference implementations on CPU; nothing is compiled). Builds the reference's Generator and
Discriminator (`training/networks.py`, which wraps `R3GAN/Networks.py` as its train.py does) at
a small size with three stages of different widths, cardinalities and block counts, once
unconditional and once class-conditional, every parameter random (the fix-up's zero-initialised
convolutions and the zero biases included, so that a misplaced one shows), in float32; writes
their state dicts under the reference's names with, on fixed inputs, the generator's images, the
discriminator's logits of those images and of given ones, and the gradients of the sum of the
logits of G(z) with respect to every parameter and to the given images, to
tests/fixtures/r3gan_reference.npz.
"""

import argparse
import importlib.util
import sys
import types
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / 'tests' / 'fixtures' / 'r3gan_reference.npz'
# Three stages (4x4, 8x8, 16x16): widths that change at each transition, grouped convolutions
# of 2 and 4 groups, one and two blocks per stage.
ARCH = dict(resolution=16, noise=8, widths=[16, 12, 8], cardinalities=[2, 4, 2],
            blocks=[1, 2, 1], expansion=2, num_classes=3, g_embedding=8)


def networks(torch, Generator, Discriminator, conditional: bool):
  a = ARCH
  c_dim = a['num_classes'] if conditional else 0
  g_extra = dict(ConditionEmbeddingDimension=a['g_embedding']) if conditional else {}
  d_extra = dict(ConditionEmbeddingDimension=a['widths'][0]) if conditional else {}
  G = Generator(NoiseDimension=a['noise'], WidthPerStage=a['widths'],
                CardinalityPerStage=a['cardinalities'], BlocksPerStage=a['blocks'],
                ExpansionFactor=a['expansion'], FP16Stages=[], c_dim=c_dim,
                img_resolution=a['resolution'], **g_extra)
  D = Discriminator(WidthPerStage=a['widths'][::-1], CardinalityPerStage=a['cardinalities'][::-1],
                    BlocksPerStage=a['blocks'][::-1], ExpansionFactor=a['expansion'],
                    FP16Stages=[], c_dim=c_dim, img_resolution=a['resolution'], **d_extra)
  with torch.no_grad():
    for network in (G, D):
      for name, value in network.named_parameters():
        if name.endswith('Bias') or name.endswith('LinearLayer3.Layer.weight'):
          value.copy_(torch.randn_like(value) * 0.2)
  return G, D


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reference', required=True, type=Path)
  args = parser.parse_args()
  sys.path.insert(0, str(args.reference))
  if importlib.util.find_spec('pkg_resources') is None:  # setuptools >= 81 dropped it; the
    from packaging.version import parse  # reference's conv2d_gradfix needs only parse_version
    sys.modules['pkg_resources'] = types.SimpleNamespace(parse_version=parse)
  import torch
  from training.networks import Discriminator, Generator

  torch.manual_seed(0)
  rng = np.random.default_rng(0)
  a = ARCH
  z = rng.standard_normal((4, a['noise'])).astype(np.float32)
  labels = np.array([0, 1, 2, 1])
  images = rng.uniform(-1, 1, (4, 3, a['resolution'], a['resolution'])).astype(np.float32)
  out = {'z': z, 'labels': labels, 'images': images.transpose(0, 2, 3, 1)}
  for prefix, conditional in (('', False), ('conditional/', True)):
    G, D = networks(torch, Generator, Discriminator, conditional)
    c = torch.from_numpy(np.eye(a['num_classes'], dtype=np.float32)[labels]) if conditional \
        else None
    for name, network in (('G', G), ('D', D)):
      for key, value in network.state_dict().items():
        out[f'{prefix}{name}/{key.removeprefix("Model.")}'] = value.detach().numpy()
    fake = G(torch.from_numpy(z), c)
    fake_logits = D(fake, c)
    given = torch.from_numpy(images).requires_grad_(True)
    given_logits = D(given, c)
    (fake_logits.sum() + given_logits.sum()).backward()
    out[f'{prefix}fake'] = fake.detach().numpy().transpose(0, 2, 3, 1)
    out[f'{prefix}fake_logits'] = fake_logits.detach().numpy()
    out[f'{prefix}given_logits'] = given_logits.detach().numpy()
    out[f'{prefix}grad/images'] = given.grad.numpy().transpose(0, 2, 3, 1)
    for name, network in (('G', G), ('D', D)):
      for key, value in network.named_parameters():
        out[f'{prefix}grad/{name}/{key.removeprefix("Model.")}'] = value.grad.numpy()
  out['versions'] = np.array(f'torch {torch.__version__}; R3GAN {args.reference}')
  FIXTURE.parent.mkdir(exist_ok=True)
  np.savez_compressed(FIXTURE, **out)
  print(f'wrote {FIXTURE} ({len(out)} arrays)')


if __name__ == '__main__':
  main()
