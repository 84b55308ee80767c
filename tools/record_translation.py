"""Records what pytorch-CycleGAN-and-pix2pix's networks compute, for `tests/test_translation.py`.

  python tools/record_translation.py --reference DIR   # DIR: a clone of the reference

Needs torch and a clone of https://github.com/junyanz/pytorch-CycleGAN-and-pix2pix (only its
`models/networks.py` is read). Builds, at a reduced size, the reference's U-Net (batch norm,
dropout), ResNet generator (instance norm), and PatchGAN with batch norm (conditional: 3 + 2
input channels) and with instance norm, with every parameter and running statistic random (so a
misplaced bias or a swapped statistic shows), and writes their state dicts under the
reference's names, with their outputs on fixed inputs, to tests/fixtures/translation_reference.npz:
in training mode (batch statistics; the dropout made the identity, its randomness being
torch's), the running statistics that forward pass leaves, and in eval mode (running
statistics) for the batch-norm networks.
"""

import argparse
import importlib.util
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / 'tests' / 'fixtures' / 'translation_reference.npz'
# name: (the reference's class, its arguments, the input's shape (NCHW))
NETWORKS = {
    'unet': ('UnetGenerator', dict(input_nc=1, output_nc=1, num_downs=6, ngf=2, norm='batch',
                                   use_dropout=True), (2, 1, 64, 64)),
    'resnet': ('ResnetGenerator', dict(input_nc=3, output_nc=3, ngf=4, norm='instance',
                                       n_blocks=2), (2, 3, 20, 20)),
    'patch_batch': ('NLayerDiscriminator', dict(input_nc=5, ndf=4, n_layers=2, norm='batch'),
                    (2, 5, 24, 24)),
    'patch_instance': ('NLayerDiscriminator', dict(input_nc=3, ndf=4, n_layers=3,
                                                   norm='instance'), (2, 3, 32, 32)),
}


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--reference', required=True, type=Path)
  args = parser.parse_args()
  spec = importlib.util.spec_from_file_location(
      'reference_networks', args.reference / 'models' / 'networks.py')
  networks = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(networks)
  import torch

  torch.manual_seed(0)
  record = {}
  for name, (constructor, kwargs, shape) in NETWORKS.items():
    kwargs = dict(kwargs)
    norm = kwargs.pop('norm')
    net = getattr(networks, constructor)(norm_layer=networks.get_norm_layer(norm), **kwargs)
    with torch.no_grad():
      for key, tensor in net.state_dict().items():
        if key.endswith('running_var'):
          tensor.copy_(0.5 + torch.rand_like(tensor))
        elif tensor.is_floating_point():
          tensor.copy_(0.3 * torch.randn_like(tensor))
    for module in net.modules():
      if isinstance(module, torch.nn.Dropout):
        module.p = 0.0
    x = torch.randn(*shape)
    for key, tensor in net.state_dict().items():
      if tensor.is_floating_point():
        record[f'{name}/state/{key}'] = tensor.numpy().copy()
    record[f'{name}/input'] = x.numpy().transpose(0, 2, 3, 1)
    net.train()
    with torch.no_grad():
      out = net(x.clone())
    record[f'{name}/train'] = out.numpy().transpose(0, 2, 3, 1)
    for key, tensor in net.state_dict().items():
      if key.endswith(('running_mean', 'running_var')):
        record[f'{name}/updated/{key}'] = tensor.numpy().copy()
    if norm == 'batch':
      net.eval()
      with torch.no_grad():
        record[f'{name}/eval'] = net(x.clone()).numpy().transpose(0, 2, 3, 1)
  np.savez_compressed(FIXTURE, **record)
  print(f'wrote {FIXTURE} ({FIXTURE.stat().st_size / 1024:.0f} KiB, torch {torch.__version__})')


if __name__ == '__main__':
  main()
