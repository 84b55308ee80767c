"""The commands: each a module with `main(argv=None) -> exit code`, the only code that parses
arguments. The library never imports them; `train.py`, the `jaxgan-*` console scripts and the
`python -m jaxgan.<tool>` entry points call them.

  train       train.py, jaxgan-train                         (`jaxgan.train.run`)
  sample      python -m jaxgan.sample, jaxgan-sample         (`jaxgan.sample`)
  translate   python -m jaxgan.translate, jaxgan-translate   (`jaxgan.translate`)
  evaluate    python -m jaxgan.evaluate, jaxgan-evaluate     (`jaxgan.evaluate`)
  convert     python -m jaxgan.convert, jaxgan-convert       (`jaxgan.convert`)
  digits      python -m jaxgan.evaluate.digits               (the digits check of an .npy)
  inception   python -m jaxgan.evaluate.inception            (pytorch-fid's weights -> .npz)
  common      what they share: one-line errors, flag types, the compilation cache
"""
