"""Turns stylegan2-ada-pytorch weights into a jaxgan workdir.

  python -m jaxgan.convert --generator G.npz [--discriminator D.npz] --out WORKDIR
                           [--set FIELD=VALUE ...]

The reference keeps its networks in a pickle that needs its own code to open; export each
network's state dict as an .npz of its tensors under their names first, where that code is
(one line, from a clone of https://github.com/NVlabs/stylegan2-ada-pytorch):

  python -c "import pickle, numpy as np; n = pickle.load(open('network.pkl', 'rb')); \
[np.savez(f'{k}.npz', **{t: v.cpu().numpy() for t, v in n[k].state_dict().items()}) \
for k in ('G_ema', 'D')]"

The networks' sizes are read from the tensors' shapes (`jaxgan.nets.stylegan2_weights`);
`--set` overrides any config field of the workdir (`--set mbstd_group=8`, the training recipe
for a later `train.py --workdir`). The workdir holds a step-0 checkpoint with the generator
(as the EMA generator too) and the discriminator, when given (else freshly initialised), which
`python -m jaxgan.sample --workdir WORKDIR` draws from.
"""

import sys
from pathlib import Path

import jax
import numpy as np

from jaxgan import configs, games
from jaxgan.checkpoint import Checkpoints
from jaxgan.cli import OneLineErrorParser
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
  game = games.build(config)
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


def main(argv=None) -> int:
  parser = OneLineErrorParser(prog='python -m jaxgan.convert',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--generator', required=True, metavar='G.npz',
                      help="the generator's state dict (G_ema to sample from)")
  parser.add_argument('--discriminator', metavar='D.npz', help="the discriminator's")
  parser.add_argument('--out', required=True, metavar='WORKDIR')
  parser.add_argument('--set', action='append', default=[], metavar='FIELD=VALUE')
  args = parser.parse_args(argv)
  if (Path(args.out) / 'checkpoints').exists():
    parser.error(f'{args.out!r} already holds a run; convert into a new --out')
  try:  # the flags first, before the files are read
    configs.get('stylegan2').override(args.set)
  except ValueError as error:
    parser.error(str(error))
  try:
    generator = read_state_dict(args.generator)
    discriminator = read_state_dict(args.discriminator) if args.discriminator else None
    config = convert(generator, discriminator, args.out, args.set)
  except (FileNotFoundError, ValueError, KeyError) as error:
    parser.error(str(error).strip().splitlines()[0])
  print(f'wrote {args.out}: StyleGAN2 {config["image_size"]}x{config["image_size"]}x'
        f'{config["channels"]}, z {config["latent_dim"]}, w {config["w_dim"]}'
        f'{", " + str(len(config["classes"])) + " classes" if config["conditional"] else ""}')
  return 0


if __name__ == '__main__':
  sys.exit(main())
