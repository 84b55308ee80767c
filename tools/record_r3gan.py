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
logits of G(z) with respect to every parameter and to the given images; and its augmentation
pipeline with R3GAN's arguments (`record_augmentation`); to tests/fixtures/r3gan_reference.npz.
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


# train.py's augment_kwargs: every geometric transformation, the colour ones at half p, cutout.
AUGMENT = dict(xflip=1, rotate90=1, xint=1, scale=1, rotate=1, aniso=1, xfrac=1, brightness=0.5,
               contrast=0.5, lumaflip=0.5, hue=0.5, saturation=0.5, cutout=1)


def record_augmentation(torch, out):
  """The reference's `AugmentPipe` with R3GAN's arguments at p = 2 (so that every
  transformation applies: each one's probability is p times its multiplier) and with cutout
  alone at p = 1, every random value fixed by `debug_percentile`, on RGB and grey images."""
  from training.augment import AugmentPipe
  rng = np.random.default_rng(1)
  images = {'rgb': rng.uniform(-1, 1, (2, 16, 16, 3)).astype(np.float32),
            'grey': rng.uniform(-1, 1, (2, 16, 16, 1)).astype(np.float32)}
  for name, kwargs, p in (('r3gan', AUGMENT, 2.0), ('cutout', dict(cutout=1), 1.0)):
    pipe = AugmentPipe(**kwargs)
    pipe.p.copy_(torch.full([], p))
    for percentile in (0.8, 0.3):
      for kind, value in images.items():
        with torch.no_grad():
          augmented = pipe(torch.from_numpy(value.transpose(0, 3, 1, 2)),
                           debug_percentile=percentile)
        out[f'augment/{name}/{percentile}/{kind}'] = augmented.numpy().transpose(0, 2, 3, 1)
  for kind, value in images.items():
    out[f'augment/{kind}'] = value


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reference', required=True, type=Path)
  args = parser.parse_args()
  sys.path.insert(0, str(args.reference))
  if importlib.util.find_spec('pkg_resources') is None:  # setuptools >= 81 dropped it; the
    from packaging.version import (
      parse,  # reference's conv2d_gradfix needs only parse_version
    )
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
  record_augmentation(torch, out)
  # The CIFAR10 preset's networks (train.py --preset=CIFAR10 --cond=1): their parameter counts.
  widths, groups, blocks = [768] * 4, [96] * 4, [2] * 4
  G = Generator(NoiseDimension=64, WidthPerStage=widths, CardinalityPerStage=groups,
                BlocksPerStage=blocks, ExpansionFactor=2, FP16Stages=[-1, -2, -3], c_dim=10,
                img_resolution=32, ConditionEmbeddingDimension=64)
  D = Discriminator(WidthPerStage=widths, CardinalityPerStage=groups, BlocksPerStage=blocks,
                    ExpansionFactor=2, FP16Stages=[0, 1, 2], c_dim=10, img_resolution=32,
                    ConditionEmbeddingDimension=768)
  out['cifar10/parameters'] = np.array([sum(p.numel() for p in network.parameters())
                                        for network in (G, D)])
  out['versions'] = np.array(f'torch {torch.__version__}; R3GAN {args.reference}')
  FIXTURE.parent.mkdir(exist_ok=True)
  np.savez_compressed(FIXTURE, **out)
  print(f'wrote {FIXTURE} ({len(out)} arrays)')


if __name__ == '__main__':
  main()
