"""The digits check of a file of samples: `python -m jaxgan.evaluate.digits --samples F.npy`
(`jaxgan.evaluate.digits.digit_report`)."""

import json
import sys

from jaxgan.commands.common import OneLineErrorParser
from jaxgan.commands.evaluate import load_images
from jaxgan.evaluate.digits import digit_report


def main(argv=None):
  parser = OneLineErrorParser(prog='python -m jaxgan.evaluate.digits',
                              description=__doc__.splitlines()[0])
  parser.add_argument('--samples', required=True,
                      help='.npy of images (n, h, w[, c]), in [0, 1] or uint8')
  parser.add_argument('--threshold', type=float, default=0.9,
                      help="the classifier's probability that counts a sample as confident, in "
                           "(0, 1) (default: %(default)s)")
  args = parser.parse_args(argv)
  if not 0 < args.threshold < 1:
    parser.error(f'--threshold must be in (0, 1), got {args.threshold}')
  try:
    report = digit_report(load_images(args.samples, sys.maxsize, 8), args.threshold)
  except (FileNotFoundError, ValueError) as error:  # one line, exit code 2
    parser.error(str(error).strip().splitlines()[0])
  print(json.dumps(report))
  return 0
