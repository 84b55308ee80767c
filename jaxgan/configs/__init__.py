"""Presets: one function per model, each returning a `Config`. `get(name)` looks one up."""

from jaxgan.config import Config


def dcgan64() -> Config:
  """The seed's DCGAN and recipe, exactly: 64x64x3, latent 128, Adam 1e-4, batch 32.

  Generator 3,979,651 parameters, discriminator 404,801 (as Keras' summary() counts). The seed's
  `train_step` calls the discriminator without `training=True`, so Keras never activates its
  Dropout(0.2) (checked on TensorFlow 2.21, Keras 3.15); nor does this preset. On the seed's data
  (CelebA unzipped into celeba_gan/, JPEGs found recursively):
    python train.py --config dcgan64 --dataset celeba_gan
  """
  return Config(name='dcgan64', image_size=64, channels=3, d_dropout=0.0, batch_size=32,
                steps=10_000)


def dcgan32() -> Config:
  """The seed's family at 32x32x3 with narrower layers, for CPU work.

    python train.py --config dcgan32 --dataset tfds:cifar10 --data-dir ~/tensorflow_datasets
  """
  return Config(name='dcgan32', image_size=32, channels=3, g_base=4, g_widths=(128, 128, 64),
                d_widths=(64, 128, 128), d_dropout=0.0, batch_size=32, steps=5_000)


def digits() -> Config:
  """The default: the seed's family and loss at 16x16x1 on scikit-learn's 1,797 digits.

  Trains in a few minutes on a 2-core CPU. DCGAN-paper Adam settings (2e-4, beta1 0.5) and a
  generator EMA for samples. Every 500 steps, the Frechet distance of 1,000 samples to the real
  digits in the digits' feature space (`eval/fd_digits`, with precision and recall) goes to
  metrics.jsonl, and the best checkpoint so far to best/.
    python train.py
  """
  return Config(name='digits', dataset='digits', image_size=16, channels=1, latent_dim=64,
                g_base=4, g_widths=(128, 64), d_widths=(64, 128), g_lr=2e-4, d_lr=2e-4,
                adam_b1=0.5, ema_decay=0.99, batch_size=64, steps=1_500, eval_every=500)


def wgan_gp() -> Config:
  """WGAN-GP (Gulrajani et al. 2017) on the seed's backbone at the digits' 16x16x1.

  A critic without sigmoid or dropout trained with the Wasserstein loss plus a gradient penalty
  of weight 10, 5 critic updates (each on its own real batch) per generator update, Adam 1e-4
  with betas (0, 0.9), as in the paper. About 0.45 s per step on a 2-core CPU: 8 minutes.
    python train.py --config wgan_gp
  """
  return digits().replace(name='wgan_gp', loss='wasserstein', gp_weight=10.0, n_critic=5,
                          d_dropout=0.0, optimizer='adam', g_lr=1e-4, d_lr=1e-4, adam_b1=0.0,
                          adam_b2=0.9, adam_eps=1e-8, steps=1_000,
                          sample_every=100)  # an epoch of the digits is only 5 steps here


def mlp2d() -> Config:
  """MLPs on a 2-D Gaussian mixture: the mode-collapse benchmark's recipe (about a minute).

  A 2-D latent, 3x128 ReLU generator, 3x128 LeakyReLU discriminator; the non-saturating loss
  with lazy R1 (gamma 0.1 every 8 steps); Adam 1e-3 (0.5, 0.999) with cosine decay to 0 over
  40,000 steps of batch 128; samples from a generator EMA. `dataset`: grid25 or ring8.
    python train.py --config mlp2d --dataset ring8
    python benchmarks/modes.py
  """
  return Config(name='mlp2d', arch='mlp2d', dataset='grid25', latent_dim=2,
                g_widths=(128, 128, 128), d_widths=(128, 128, 128), d_dropout=0.0,
                loss='non_saturating', r1_gamma=0.1, r1_every=8, optimizer='adam', g_lr=1e-3,
                d_lr=1e-3, adam_b1=0.5, adam_b2=0.999, adam_eps=1e-8, lr_decay='cosine',
                ema_decay=0.999, batch_size=128, steps=40_000, log_every=1_000,
                checkpoint_every=10_000, sample_every=10_000)


def conditional() -> Config:
  """Class-conditional digits, SNGAN-style: a projection discriminator and the hinge loss.

  Class-conditional digits, SNGAN-style (Miyato et al. 2018; Miyato & Koyama 2018): a
  generator with a class embedding, a spectrally normalized projection discriminator, the hinge
  loss, Adam 2e-4 (0.5, 0.999), batch 64, a generator EMA. Each sample grid has a row per class;
  the final check asks the digits classifier whether each sample is of the class it was drawn
  for (`class_accuracy` in digits_check.json).
    python train.py --config conditional --workdir runs/conditional
    python -m jaxgan.sample --workdir runs/conditional --class 3 --num 64 --out threes.png
  """
  return digits().replace(name='conditional', conditional=True, spectral_norm=True,
                          loss='hinge', d_dropout=0.0, steps=2_000)


def stylegan2_cifar() -> Config:
  """StyleGAN2 as stylegan2-ada-pytorch's `--cfg cifar`, 32x32x3, for accelerators.

  StyleGAN2 as stylegan2-ada-pytorch's `--cfg cifar` (`train.py`'s cfg_specs): 32x32x3, z and
  w 512, a 2-layer mapping network, 512 channels at every resolution (channel_base 32768), the
  'orig' discriminator with minibatch-stddev groups of 32; non-saturating loss, lazy R1 with
  gamma 0.01 every 16 steps as its own Adam step (Adam 0.0025, betas (0, 0.99), eps 1e-8, rate
  and betas corrected for the extra steps: the discriminator's for R1's interval of 16, the
  generator's for its interval of 4, which the reference keeps with the path length off), no
  path length penalty and no style mixing (the reference disables both for cifar), ADA ('bgc',
  target 0.6, adjusted every 4 steps at 500 kimg: its `--aug` default), batch 64, a generator
  EMA with a half-life of 500k images ramped up over the first 5% of the images, 100,000 kimg
  (1,562,500 steps). The reference's float16 layers and their clamping are left out (float32).
  For accelerators:
    python train.py --config stylegan2_cifar --dataset tfds:cifar10 --data-dir DIR
  """
  return Config(name='stylegan2_cifar', arch='stylegan2', dataset='digits', image_size=32,
                channels=3, latent_dim=512, w_dim=512, mapping_layers=2, channel_base=32768,
                channel_max=512, mbstd_group=32, d_architecture='orig', d_dropout=0.0,
                loss='non_saturating', r1_gamma=0.01, r1_every=16, regularizer_steps=True,
                augment='ada', optimizer='adam', g_lr=0.0025, d_lr=0.0025, adam_b1=0.0,
                adam_b2=0.99, adam_eps=1e-8, ema_kimg=500.0, ema_rampup=0.05, batch_size=64,
                steps=1_562_500, log_every=100, checkpoint_every=5_000, sample_every=5_000)


def stylegan2() -> Config:
  """StyleGAN2 with the reference's recipe on the digits at 32x32, small enough for a CPU.

  StyleGAN2 with the reference's training recipe, small enough for a CPU: the digits at
  32x32x1, z and w 128, a 2-layer mapping network, channels min(1024 // r, 64); non-saturating
  loss, lazy R1 (every 16 steps) and the path length penalty (weight 2, every 4 steps, decay
  0.01, on half the batch) as their own Adam steps (betas (0, 0.99), rates and betas corrected),
  style mixing with probability 0.9, a generator EMA with a half-life of 10k images ramped up
  over the first 5% (stylegan2-ada-pytorch's 'auto' at batch 32), and ADA ('bgc').
  Three values depart from the reference's for this short run on 1,347 tiny images (measured
  at 1,500 steps: the reference's values collapsed to a few shapes, these gave varied digits):
  R1 gamma 0.1 (the reference's heuristic gives 0.0064 here), Adam 0.002 (0.0025), and ADA's p
  allowed to move 50 times faster (ada_kimg 10, not 500: the reference's would take 16k steps
  to reach p = 1).
    python train.py --config stylegan2
  """
  return stylegan2_cifar().replace(
      name='stylegan2', channels=1, latent_dim=128, w_dim=128, channel_base=1024,
      channel_max=64, mbstd_group=4, d_architecture='resnet', pl_weight=2.0, style_mixing=0.9,
      r1_gamma=0.1, g_lr=0.002, d_lr=0.002, augment='ada', ada_kimg=10.0, ema_kimg=10.0,
      batch_size=32, steps=2_000, log_every=50, checkpoint_every=500, sample_every=250,
      eval_every=500)


def pggan_celebahq() -> Config:
  """Progressive growing as the reference trains CelebA-HQ at 1024x1024.

  Progressive growing as progressive_growing_of_gans trains CelebA-HQ at 1024x1024
  (`config.py`, `networks.py`, `loss.py`, `train.py`'s defaults): the paper's networks
  (fmap_base 8192 and fmap_max 512 there: channel_base 16384 here; latent 512; minibatch
  stddev in groups of 4), WGAN-GP (gradient penalty 10) with the drift term 0.001, Adam 0.001 with
  betas (0, 0.99) and eps 1e-8, its state reset when each fade begins and ends, a generator EMA
  of 0.999, 600k images per resolution and 600k to fade each in, mirrored images, 12,000k images
  in all. One batch size, 16, where the reference's single-GPU preset shrinks its minibatch with
  the resolution (128 at 4x4 down to 4 at 512) and raises the learning rate at 1024 (0.0015).
  For accelerators, on a folder of CelebA-HQ's 1024x1024 images (its default `celeba_hq`):
    python train.py --config pggan_celebahq --dataset ~/data/celeba_hq
  """
  return Config(name='pggan_celebahq', arch='pggan', dataset='celeba_hq', image_size=1024,
                channels=3, latent_dim=512, channel_base=16384, channel_max=512, mbstd_group=4,
                d_dropout=0.0, loss='wasserstein', gp_weight=10.0, drift=0.001,
                optimizer='adam', g_lr=0.001, d_lr=0.001, adam_b1=0.0, adam_b2=0.99,
                adam_eps=1e-8, ema_decay=0.999, stage_kimg=600.0, fade_kimg=600.0,
                reset_optimizer=True, hflip=True, batch_size=16, steps=750_000,
                log_every=100, checkpoint_every=5_000, sample_every=5_000)


def pggan() -> Config:
  """Progressive growing on the digits, 4x4 to 16x16, with the reference's recipe.

  Progressive growing on the digits, 4x4 to 16x16 (`--set image_size=32` adds a stage), with
  the reference's recipe (see pggan_celebahq) on narrower networks (channels min(512 // r, 64),
  latent 64) and a shorter schedule: 400 steps of batch 64 at each resolution and 400 to fade
  each new one in. One value departs for this short run: the generator EMA's decay is 0.99,
  not 0.999, which at the end of a 400-step stage would still hold 67% of its new layers'
  initial weights (measured: noise-like samples at every stage, recall 0.00 at the end). Samples
  show the current stage's images enlarged to the final size.
    python train.py --config pggan
  """
  return pggan_celebahq().replace(
      name='pggan', dataset='digits', image_size=16, channels=1, latent_dim=64,
      channel_base=512, channel_max=64, hflip=False, ema_decay=0.99, batch_size=64,
      stage_kimg=25.6, fade_kimg=25.6, steps=2_000, log_every=50, checkpoint_every=500,
      sample_every=200, eval_every=500)


def pix2pix_256() -> Config:
  """pix2pix as pytorch-CycleGAN-and-pix2pix trains it at 256x256, for accelerators.

  pix2pix (Isola et al. 2017) as pytorch-CycleGAN-and-pix2pix trains it at 256x256
  (`models/pix2pix_model.py`, `options/`): the U-Net `unet_256` (54,413,955 parameters) against
  the 70x70 PatchGAN `basic` (2,768,705, seeing source and image: 6 channels), batch norm,
  dropout, the vanilla GAN loss plus 100 x L1, Adam 2e-4 with betas (0.5, 0.999), batch 1,
  200 epochs of facades' 400 pairs (the rate constant for the first half, then linearly to 0),
  mirrored pairs; facades goes from its labels (B) to the photos (A). The reference jitters
  (resizes to 286 and crops 256); here the images are only resized. For accelerators:
    python train.py --config pix2pix_256 --dataset datasets/facades/train
  """
  return Config(name='pix2pix_256', arch='pix2pix', dataset='datasets/facades/train',
                direction='BtoA', image_size=256, channels=3, num_downs=8, ngf=64, ndf=64,
                d_layers=3, norm='batch', g_dropout=True, l1_weight=100.0,
                loss='non_saturating', optimizer='adam', g_lr=2e-4, d_lr=2e-4, adam_b1=0.5,
                adam_b2=0.999, adam_eps=1e-8, lr_decay='linear', hflip=True, batch_size=1,
                steps=80_000, log_every=100, checkpoint_every=4_000, sample_every=4_000,
                sample_grid=1)


def pix2pix() -> Config:
  """pix2pix on an offline task: 4x super-resolution of the digits at 32x32.

  pix2pix on an offline task: 4x super-resolution of the digits (`digits_x4`: each digit
  box-filtered to 8x8 and enlarged back by repeating pixels, to the 32x32 digit), with
  pix2pix_256's recipe on smaller networks (a U-Net of 5 halvings and 32 channels, a PatchGAN
  of 2 stride-2 layers) and batch 32. At the end, translation_check.json: L1 and PSNR on the
  450 held-out pairs, beside bicubic upsampling of the same sources.
    python train.py --config pix2pix
  """
  return pix2pix_256().replace(
      name='pix2pix', dataset='digits_x4', direction='AtoB', image_size=32, channels=1,
      num_downs=5, ngf=32, ndf=32, d_layers=2, hflip=False, batch_size=32, steps=1_500,
      log_every=50, checkpoint_every=500, sample_every=250, sample_grid=4)


def cyclegan_256() -> Config:
  """CycleGAN as pytorch-CycleGAN-and-pix2pix trains it at 256x256, for accelerators.

  CycleGAN (Zhu et al. 2017) as pytorch-CycleGAN-and-pix2pix trains it at 256x256
  (`models/cycle_gan_model.py`, `options/`): two `resnet_9blocks` generators (11,378,179
  parameters each) and two 70x70 PatchGANs with instance norm (2,764,737 each), the LSGAN loss,
  cycle weight 10, identity 0.5, a pool of 50 translations per discriminator, Adam 2e-4 with
  betas (0.5, 0.999), batch 1, 200 epochs of horse2zebra's 1,334 examples (the rate constant
  for the first half, then linearly to 0), mirrored images, no dropout. The reference jitters
  (resizes to 286 and crops 256); here the images are only resized. For accelerators:
    python train.py --config cyclegan_256 --dataset datasets/horse2zebra
  """
  return Config(name='cyclegan_256', arch='cyclegan', dataset='datasets/horse2zebra',
                image_size=256, channels=3, resnet_blocks=9, ngf=64, ndf=64, d_layers=3,
                norm='instance', g_dropout=False, cycle_weight=10.0, identity_weight=0.5,
                pool_size=50, loss='lsgan', optimizer='adam', g_lr=2e-4, d_lr=2e-4,
                adam_b1=0.5, adam_b2=0.999, adam_eps=1e-8, lr_decay='linear', hflip=True,
                batch_size=1, steps=266_800, log_every=100, checkpoint_every=5_000,
                sample_every=5_000, sample_grid=2)


def cyclegan() -> Config:
  """CycleGAN on an offline task: the digits, plain and bold, unpaired, at 32x32.

  CycleGAN on an offline task: the digits as they are (A) and in bold (B: strokes thickened
  by a 5x5 maximum), unpaired (`digits_styles`), with cyclegan_256's recipe on smaller networks (3
  residual blocks, 16 channels, a PatchGAN of 2 stride-2 layers) and batch 16. At the end,
  cycle_check.json: whether the digits classifier still reads each held-out bold digit
  translated back, and whether a domain classifier puts each direction's translations in the
  target domain.
    python train.py --config cyclegan
  """
  return cyclegan_256().replace(
      name='cyclegan', dataset='digits_styles', image_size=32, channels=1, resnet_blocks=3,
      ngf=16, ndf=16, d_layers=2, hflip=False, batch_size=16, steps=1_000, log_every=50,
      checkpoint_every=500, sample_every=250, sample_grid=4)


PRESETS = {preset.__name__: preset
           for preset in (digits, dcgan64, dcgan32, wgan_gp, mlp2d, conditional, stylegan2,
                          stylegan2_cifar, pggan, pggan_celebahq, pix2pix, pix2pix_256, cyclegan,
                          cyclegan_256)}
DEFAULT = 'digits'


def get(name: str) -> Config:
  if name not in PRESETS:
    raise KeyError(f'unknown config {name!r}; presets: {", ".join(PRESETS)}')
  return PRESETS[name]()
