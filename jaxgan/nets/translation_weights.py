"""pytorch-CycleGAN-and-pix2pix state dicts <-> jaxgan's translation networks' variables.

The reference saves each network's `state_dict()` (`models/base_model.py`, `save_networks`):
`torch.nn.Sequential` indices under `model.` for `ResnetGenerator` and `NLayerDiscriminator`,
nested `model.model.1.model.3. ...` for the U-Net's blocks (`models/networks.py`). Convolution
weights are `(out, in, k, k)` there and `(k, k, in, out)` here; transposed ones `(in, out, k,
k)` there. Batch norms: `weight`, `bias`, `running_mean`, `running_var` -> `scale`, `bias` and
the batch statistics `mean`, `var` (`num_batches_tracked` has no use here).
"""

import numpy as np

from jaxgan.nets.translation import PatchDiscriminator, ResnetGenerator, UNetGenerator


def _unet_layers(net: UNetGenerator) -> dict:
  last = net.num_downs - 1
  layers, prefix = {'down0': 'model.model.0', 'up0': 'model.model.3'}, 'model.model.1.model.'
  for i in range(1, net.num_downs):
    if i < last:
      layers.update({f'down{i}': prefix + '1', f'down_norm{i}': prefix + '2',
                     f'up{i}': prefix + '5', f'up_norm{i}': prefix + '6'})
      prefix += '3.model.'
    else:
      layers.update({f'down{i}': prefix + '1', f'up{i}': prefix + '3', f'up_norm{i}': prefix + '4'})
  return layers


def _resnet_layers(net: ResnetGenerator) -> dict:
  layers = {'stem': 'model.1', 'stem_norm': 'model.2', 'down0': 'model.4', 'down0_norm': 'model.5',
            'down1': 'model.7', 'down1_norm': 'model.8'}
  second = 6 if net.dropout else 5  # the block's second convolution, after the dropout if any
  for b in range(net.blocks):
    block = f'model.{10 + b}.conv_block.'
    layers.update({f'block{b}_conv0': block + '1', f'block{b}_norm0': block + '2',
                   f'block{b}_conv1': block + str(second),
                   f'block{b}_norm1': block + str(second + 1)})
  for i in range(2):
    layers.update({f'up{i}': f'model.{10 + net.blocks + 3 * i}',
                   f'up{i}_norm': f'model.{11 + net.blocks + 3 * i}'})
  layers['out'] = f'model.{17 + net.blocks}'
  return layers


def _patch_layers(net: PatchDiscriminator) -> dict:
  layers = {'conv0': 'model.0', f'conv{net.n_layers + 1}': f'model.{3 * net.n_layers + 2}'}
  for n in range(1, net.n_layers + 1):
    layers.update({f'conv{n}': f'model.{3 * n - 1}', f'norm{n}': f'model.{3 * n}'})
  return layers


def reference_layers(net) -> dict:
  """{jaxgan layer name: the reference's module path} for a translation network."""
  for kind, layers in ((UNetGenerator, _unet_layers), (ResnetGenerator, _resnet_layers),
                       (PatchDiscriminator, _patch_layers)):
    if isinstance(net, kind):
      return layers(net)
  raise TypeError(f'not a translation network: {type(net).__name__}')


def from_state_dict(net, state_dict: dict, variables: dict) -> dict:
  """`variables` (the network's, for their structure) with every parameter and batch statistic
  taken from the reference's `state_dict` (name -> array). Raises KeyError naming a missing
  tensor and ValueError naming a shape that differs."""
  params = {name: dict(leaves) for name, leaves in variables['params'].items()}
  stats = {name: dict(leaves['bn']) for name, leaves in variables.get('batch_stats', {}).items()}

  def take(name, target, transpose=None):
    if name not in state_dict:
      raise KeyError(f'the state dict has no {name}')
    value = np.asarray(state_dict[name], np.float32)
    value = value if transpose is None else value.transpose(transpose)
    if value.shape != tuple(target.shape):
      raise ValueError(f'{name}: shape {value.shape} where the network has {target.shape}')
    return value

  for layer, path in reference_layers(net).items():
    if layer in stats:  # a batch norm: params under <layer>/bn
      bn = dict(params[layer]['bn'])
      bn['scale'] = take(f'{path}.weight', bn['scale'])
      bn['bias'] = take(f'{path}.bias', bn['bias'])
      params[layer] = {'bn': bn}
      stats[layer] = {'mean': take(f'{path}.running_mean', stats[layer]['mean']),
                      'var': take(f'{path}.running_var', stats[layer]['var'])}
    elif layer in params and 'kernel' in params[layer]:
      leaves = params[layer]
      transposed = layer.startswith('up') and not layer.endswith('norm')
      leaves['kernel'] = take(f'{path}.weight', leaves['kernel'],
                              (2, 3, 0, 1) if transposed else (2, 3, 1, 0))
      if 'bias' in leaves:
        leaves['bias'] = take(f'{path}.bias', leaves['bias'])
  out = {**variables, 'params': params}
  if stats:
    out['batch_stats'] = {name: {'bn': leaves} for name, leaves in stats.items()}
  return out


__all__ = ['from_state_dict', 'reference_layers']
