"""stylegan2-ada-pytorch state dicts <-> jaxgan's StyleGAN2 variables, by name.

`jaxgan.nets.stylegan2` keeps the reference's parameter names and layouts, so a tensor
`synthesis.b8.conv0.weight` is the parameter `synthesis/b8/conv0/weight`; the buffers `w_avg` and
`noise_const` go to the collection 'buffers', and the fixed `resample_filter`s are dropped
(jaxgan builds the same [1, 3, 3, 1] filter). `architecture(state_dict)` reads the networks'
sizes back from the tensors' shapes.
"""


import numpy as np

BUFFERS = ('w_avg', 'noise_const')


def to_variables(state_dict: dict[str, np.ndarray]) -> dict:
  """A network's state dict (numpy arrays, the reference's names) -> Flax variables."""
  variables = {}
  for name, value in state_dict.items():
    *path, leaf = name.split('.')
    if leaf == 'resample_filter':
      continue
    node = variables.setdefault('buffers' if leaf in BUFFERS else 'params', {})
    for part in path:
      node = node.setdefault(part, {})
    node[leaf] = np.asarray(value, np.float32)
  return variables


def to_state_dict(variables: dict) -> dict[str, np.ndarray]:
  """The inverse of `to_variables` (without the filters)."""
  flat = {}

  def walk(node, path):
    for key, value in node.items():
      if isinstance(value, dict):
        walk(value, (*path, key))
      else:
        flat['.'.join((*path, key))] = np.asarray(value)
  for collection in ('params', 'buffers'):
    walk(variables.get(collection, {}), ())
  return flat


def generator_architecture(state_dict: dict[str, np.ndarray]) -> dict:
  """`jaxgan.nets.stylegan2.Generator`'s arguments, read from a generator's tensors."""
  resolutions = sorted({int(name.split('.')[1][1:]) for name in state_dict
                        if name.startswith('synthesis.b')})
  resolution = resolutions[-1]
  mapping_layers = len({name.split('.')[1] for name in state_dict
                        if name.startswith('mapping.fc')})
  channels_4 = state_dict['synthesis.b4.const'].shape[0]
  channels_last = state_dict[f'synthesis.b{resolution}.conv1.weight'].shape[0]
  embed = state_dict.get('mapping.embed.weight')
  z_dim = state_dict['mapping.fc0.weight'].shape[1] - (0 if embed is None else embed.shape[0])
  return dict(resolution=resolution,
              channels=state_dict[f'synthesis.b{resolution}.torgb.weight'].shape[0],
              z_dim=z_dim, w_dim=state_dict['mapping.w_avg'].shape[0],
              num_classes=0 if embed is None else embed.shape[1],
              mapping_layers=mapping_layers,
              channel_base=_channel_base(channels_4, channels_last, resolution),
              channel_max=channels_4)


def discriminator_architecture(state_dict: dict[str, np.ndarray]) -> dict:
  """`jaxgan.nets.stylegan2.Discriminator`'s arguments, read from a discriminator's tensors."""
  resolutions = sorted({int(name.split('.')[0][1:]) for name in state_dict
                        if name.startswith('b') and name.split('.')[0][1:].isdigit()})
  resolution = resolutions[-1]
  first = state_dict[f'b{resolution}.fromrgb.weight']
  channels_4 = state_dict['b4.fc.weight'].shape[0]
  conv = state_dict['b4.conv.weight']
  embed = state_dict.get('mapping.embed.weight')
  return dict(resolution=resolution, channels=first.shape[1],
              num_classes=0 if embed is None else embed.shape[1],
              architecture='resnet' if f'b{resolution}.skip.weight' in state_dict else 'orig',
              channel_base=_channel_base(channels_4, first.shape[0], resolution),
              channel_max=channels_4, mbstd_num_channels=conv.shape[1] - channels_4,
              cmap_dim=None if embed is None else state_dict['b4.out.weight'].shape[0],
              mapping_layers=len({n.split('.')[1] for n in state_dict
                                  if n.startswith('mapping.fc')}))


def _channel_base(channels_4: int, channels_top: int, resolution: int) -> int:
  """The reference's channel_base: channels(res) = min(base // res, max). The top resolution
  has the fewest channels; when it is under the maximum it fixes the base (any base within
  [channels * res, (channels + 1) * res) gives the same network: the lowest is returned)."""
  if channels_top < channels_4:
    return channels_top * resolution
  return channels_4 * resolution  # every resolution at the maximum
