"""Sample quality: the field's metrics and the checks that need no pretrained network.

  inception.py   FID's Inception-v3 (pytorch-fid's), in Flax; weights converted once from
                 pytorch-fid's state dict
  metrics.py     Frechet distance, KID, precision/recall, density/coverage, Inception Score
  digits.py      the digits classifier check of the default run
  modes.py       mode coverage on the 2-D mixtures
  cache.py       .npz caches read whole or not at all, written aside and renamed
"""
