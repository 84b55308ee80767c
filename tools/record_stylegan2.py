"""Records what NVlabs' stylegan2-ada-pytorch computes, for `tests/test_stylegan2.py`.

  python tools/record_stylegan2.py --reference DIR      # DIR: a clone of the reference

Needs torch and a clone of https://github.com/NVlabs/stylegan2-ada-pytorch (its own CPU
fallbacks run the custom ops; nothing is compiled). Builds the reference's Generator and
Discriminator at a small size, class-conditional (so the label paths are covered too), with
every parameter random (the zero-initialised biases and noise strengths included, so that a
misplaced one shows), and writes their state dicts under the reference's names with their
outputs on fixed inputs to tests/fixtures/stylegan2_reference.npz: the images for the
constant noise buffers at truncation 1 and 0.6, the mapped ws, and the discriminator's logits.
"""

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / 'tests' / 'fixtures' / 'stylegan2_reference.npz'
# Small, but every path of the reference's networks: 3 synthesis blocks, resnet blocks, mbstd
# over groups of 2 with 2 channel groups, a conditional mapping on both sides.
ARCH = dict(resolution=16, channels=3, z_dim=16, w_dim=16, num_classes=3, mapping_layers=2,
            channel_base=128, channel_max=16, mbstd_group_size=2, mbstd_num_channels=2)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reference', required=True, type=Path)
  args = parser.parse_args()
  sys.path.insert(0, str(args.reference))
  import torch
  from training.networks import Discriminator, Generator

  torch.manual_seed(0)
  a = ARCH
  G = Generator(z_dim=a['z_dim'], c_dim=a['num_classes'], w_dim=a['w_dim'],
                img_resolution=a['resolution'], img_channels=a['channels'],
                mapping_kwargs=dict(num_layers=a['mapping_layers']),
                synthesis_kwargs=dict(channel_base=a['channel_base'],
                                      channel_max=a['channel_max'])).eval()
  D = Discriminator(c_dim=a['num_classes'], img_resolution=a['resolution'],
                    img_channels=a['channels'], channel_base=a['channel_base'],
                    channel_max=a['channel_max'],
                    mapping_kwargs=dict(num_layers=a['mapping_layers']),
                    epilogue_kwargs=dict(mbstd_group_size=a['mbstd_group_size'],
                                         mbstd_num_channels=a['mbstd_num_channels'])).eval()
  with torch.no_grad():
    for network in (G, D):
      for name, value in network.named_parameters():
        if 'bias' in name or 'noise_strength' in name:
          value.copy_(torch.rand_like(value) * 0.4 - 0.2 + (1.0 if 'affine.bias' in name else 0))
    G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg) * 0.3)

  rng = np.random.default_rng(0)
  z = rng.standard_normal((4, a['z_dim'])).astype(np.float32)
  labels = np.array([0, 1, 2, 1])
  c = np.eye(a['num_classes'], dtype=np.float32)[labels]
  images = rng.uniform(-1, 1, (4, a['channels'], a['resolution'], a['resolution'])).astype(
      np.float32)
  record = {'z': z, 'labels': labels, 'd_images': images.transpose(0, 2, 3, 1)}
  # Gradients: of sum(G(z, c) * directions) for every generator parameter, and of the sum of
  # D's logits for every discriminator parameter and for the images (R1's path).
  directions = rng.standard_normal((4, a['channels'], a['resolution'], a['resolution'])).astype(
      np.float32)
  record['g_directions'] = directions.transpose(0, 2, 3, 1)
  out = G(torch.from_numpy(z), torch.from_numpy(c), noise_mode='const', force_fp32=True)
  names, params = zip(*G.named_parameters())
  for name, grad in zip(names, torch.autograd.grad((out * torch.from_numpy(directions)).sum(),
                                                   params)):
    record[f'G_grad/{name}'] = grad.numpy()
  image_input = torch.from_numpy(images).requires_grad_(True)
  names, params = zip(*D.named_parameters())
  grads = torch.autograd.grad(D(image_input, torch.from_numpy(c)).sum(), (*params, image_input))
  for name, grad in zip(names, grads[:-1]):
    record[f'D_grad/{name}'] = grad.numpy()
  record['D_grad_images'] = grads[-1].numpy().transpose(0, 2, 3, 1)
  with torch.no_grad():
    zt, ct = torch.from_numpy(z), torch.from_numpy(c)
    record['ws'] = G.mapping(zt, ct).numpy()
    for psi in (1.0, 0.6):
      img = G(zt, ct, truncation_psi=psi, noise_mode='const', force_fp32=True)
      record[f'images_psi{psi}'] = img.numpy().transpose(0, 2, 3, 1)
    record['images_no_noise'] = G(zt, ct, noise_mode='none').numpy().transpose(0, 2, 3, 1)
    record['d_logits'] = D(torch.from_numpy(images), ct).numpy()
  for prefix, network in (('G', G), ('D', D)):
    for name, value in network.state_dict().items():
      record[f'{prefix}/{name}'] = value.numpy()
  FIXTURE.parent.mkdir(parents=True, exist_ok=True)
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size} bytes), torch {torch.__version__}')


if __name__ == '__main__':
  main()
