"""Turns stylegan2-ada-pytorch weights into a jaxgan workdir.

  python -m jaxgan.convert --generator G.npz [--discriminator D.npz] --out WORKDIR
                           [--set FIELD=VALUE ...]

The reference keeps its networks in a pickle that needs its own code to open; export each
network's state dict as an .npz of its tensors under their names first, where that code is
(one line, from a clone of https://github.com/NVlabs/stylegan2-ada-pytorch):

  python -c "import pickle, numpy as np; n = pickle.load(open('network.pkl', 'rb')); [np.savez(f'{k}.npz', **{t: v.cpu().numpy() for t, v in n[k].state_dict().items()}) for k in ('G_ema', 'D')]"

The networks' sizes are read from the tensors' shapes (`jaxgan.nets.stylegan2_weights`);
`--set` overrides any config field of the workdir (`--set mbstd_group=8`, the training recipe
for a later `train.py --workdir`). The workdir holds a step-0 checkpoint with the generator
(as the EMA generator too) and the discriminator, when given (else freshly initialised), which
`python -m jaxgan.sample --workdir WORKDIR` draws from.
"""

from pathlib import Path

from jaxgan import configs
from jaxgan.commands.common import OneLineErrorParser
from jaxgan.convert import convert, read_state_dict


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
