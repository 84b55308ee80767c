"""stylegan2-ada-pytorch's weights, as .npz state dicts, into a jaxgan workdir.

The networks' sizes are read from the tensors' shapes (`jaxgan.nets.stylegan2_weights`); the
workdir holds a step-0 checkpoint with the generator (as the EMA generator too) and the
discriminator when given (else freshly initialised), which `jaxgan.sample` draws from. The
command, with the one line that exports a reference pickle's state dicts, is
`python -m jaxgan.convert` (`jaxgan.commands.convert`).
"""

from pathlib import Path

import jax
import numpy as np

from jaxgan import configs, families
from jaxgan.checkpoint import Checkpoints
from jaxgan.nets import stylegan2_weights


def read_state_dict(path: str | Path) -> dict[str, np.ndarray]:
  if not Path(path).is_file():
    raise FileNotFoundError(f'{str(path)!r} does not exist')
  try:
    loaded = np.load(path, allow_pickle=False)
  except (OSError, ValueError) as error:
    raise ValueError(f'cannot read {str(path)!r} as an .npz of tensors: '
                     f'{str(error).splitlines()[0]}') from None
  if not isinstance(loaded, np.lib.npyio.NpzFile):
    raise ValueError(f'cannot read {str(path)!r} as an .npz of tensors: it holds one array')
  with loaded as arrays:
    return {name: arrays[name] for name in arrays.files}


def config_for(generator: dict, discriminator: dict | None = None, overrides=()):
  """The `stylegan2` preset with the networks' sizes read from their tensors."""
  try:
    g = stylegan2_weights.generator_architecture(generator)
  except (KeyError, IndexError, ValueError) as error:
    raise ValueError(f'not a stylegan2-ada-pytorch generator state dict (missing {error})') \
        from None
  fields = dict(image_size=g['resolution'], channels=g['channels'], latent_dim=g['z_dim'],
                w_dim=g['w_dim'], mapping_layers=g['mapping_layers'],
                channel_base=g['channel_base'], channel_max=g['channel_max'],
                conditional=g['num_classes'] > 0,
                classes=tuple(str(c) for c in range(g['num_classes'])))
  if discriminator is not None:
    try:
      d = stylegan2_weights.discriminator_architecture(discriminator)
    except (KeyError, IndexError, ValueError) as error:
      raise ValueError(f'not a stylegan2-ada-pytorch discriminator state dict (missing '
                       f'{error})') from None
    if (d['resolution'], d['channels'], d['num_classes']) != (g['resolution'], g['channels'],
                                                              g['num_classes']):
      raise ValueError(f'the discriminator is for {d["resolution"]}x{d["resolution"]}x'
                       f'{d["channels"]} images ({d["num_classes"]} classes), the generator '
                       f'makes {g["resolution"]}x{g["resolution"]}x{g["channels"]} '
                       f'({g["num_classes"]} classes)')
    fields.update(d_architecture=d['architecture'], mbstd_channels=d['mbstd_num_channels'])
    if d['num_classes']:
      fields.update(d_mapping_layers=d['mapping_layers'])
  return configs.get('stylegan2').replace(name='converted', dataset='converted',
                                          **fields).override(list(overrides))


def convert(generator: dict, discriminator: dict | None, workdir: str | Path,
            overrides=()) -> dict:
  """Writes the workdir; returns its config as a dict."""
  config = config_for(generator, discriminator, overrides)
  game = families.game(config)
  state = game.init(jax.random.key(config.seed))
  variables = {'G': stylegan2_weights.to_variables(generator)}
  if discriminator is not None:
    variables['D'] = stylegan2_weights.to_variables(discriminator)
  params, collections = dict(state.params), dict(state.collections)
  for name, converted in variables.items():
    params[name] = _shaped_like(state.params[name], converted['params'], name)
    if 'buffers' in converted:
      collections[name] = {'buffers': _shaped_like(state.collections[name]['buffers'],
                                                   converted['buffers'], name)}
  state = state.replace(params=params, collections=collections,
                        ema={**state.ema, 'G': params['G']} if 'G' in state.ema else state.ema)
  with Checkpoints(Path(workdir) / 'checkpoints') as checkpoints:
    checkpoints.save(0, state, state.variables('G', ema=True), config.to_dict())
  return config.to_dict()


def _shaped_like(target, converted, network: str):
  """`converted` as a tree of `target`'s structure, each leaf of its shape (one line naming the
  first tensor that differs)."""
  flat = {jax.tree_util.keystr(path): leaf for path, leaf in
          jax.tree.flatten_with_path(converted)[0]}
  out = []
  for path, leaf in jax.tree.flatten_with_path(target)[0]:
    name = jax.tree_util.keystr(path)
    if name not in flat:
      raise ValueError(f'{network}: the state dict has no tensor for {name}')
    if flat[name].shape != leaf.shape:
      raise ValueError(f'{network}: {name} has shape {flat[name].shape}, expected {leaf.shape}')
    out.append(np.asarray(flat[name], leaf.dtype))
  return jax.tree.unflatten(jax.tree.structure(target), out)
