"""The keras.io example's DCGAN and recipe in PyTorch, channels-last: what a PyTorch user would
write. The translation presets (pix2pix, CycleGAN) come from `torch_translation.py`.

'same' padding of the keras.io example's 4x4 stride-2 layers is padding 1; its 5x5 output conv,
padding 2. Adam with Keras' epsilon, binary cross-entropy on logits with the keras.io example's
label noise, and no active dropout (the keras.io example's `train_step` keeps Keras' Dropout
inactive).
"""

import torch
from torch import nn

VERSION = f'torch {torch.__version__}'


def networks(spec):
  base, features = spec['g_base'], spec['g_dense_features']
  widths = [features, *spec['g_widths']]
  generator = nn.Sequential(
      nn.Linear(spec['latent_dim'], base * base * features),
      nn.Unflatten(1, (base, base, features)),
      Permute(0, 3, 1, 2),
      *[layer for cin, cout in zip(widths, widths[1:]) for layer in (
          nn.ConvTranspose2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2))],
      nn.Conv2d(widths[-1], spec['channels'], 5, padding=2), nn.Sigmoid())
  widths = [spec['channels'], *spec['d_widths']]
  final = spec['image_size'] // 2 ** len(spec['d_widths'])
  discriminator = nn.Sequential(
      *[layer for cin, cout in zip(widths, widths[1:]) for layer in (
          nn.Conv2d(cin, cout, 4, stride=2, padding=1), nn.LeakyReLU(0.2))],
      nn.Flatten(), nn.Linear(widths[-1] * final * final, 1))
  return generator, discriminator


class Permute(nn.Module):
  def __init__(self, *dims):
    super().__init__()
    self.dims = dims

  def forward(self, x):
    return x.permute(*self.dims).contiguous(memory_format=torch.channels_last)


def make_step(spec, images):
  """(a function running one train step and returning when it is done, facts about the step).

  On a CUDA machine it runs there; `.item()` waits for the step to finish.
  """
  torch.manual_seed(0)
  device = 'cuda' if torch.cuda.is_available() else 'cpu'
  torch.set_default_device(device)
  if spec['arch'] in ('pix2pix', 'cyclegan'):
    import torch_translation
    return torch_translation.make_step(spec, images, device)
  generator, discriminator = (net.to(memory_format=torch.channels_last)
                              for net in networks(spec))
  d_opt = torch.optim.Adam(discriminator.parameters(), spec['d_lr'],
                           (spec['adam_b1'], spec['adam_b2']), spec['adam_eps'])
  g_opt = torch.optim.Adam(generator.parameters(), spec['g_lr'],
                           (spec['adam_b1'], spec['adam_b2']), spec['adam_eps'])
  bce = nn.BCEWithLogitsLoss()
  real = (torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float() / 255).contiguous(
      memory_format=torch.channels_last)
  n = real.shape[0]
  autocast = torch.autocast(device, torch.bfloat16, enabled=spec['dtype'] == 'bfloat16')

  def step():
    with autocast:
      with torch.no_grad():
        fake = generator(torch.randn(n, spec['latent_dim']))
      labels = torch.cat([torch.ones(n, 1), torch.zeros(n, 1)])
      labels += spec['label_noise'] * torch.rand_like(labels)
      d_loss = bce(discriminator(torch.cat([fake, real])).float(), labels)
    d_opt.zero_grad(set_to_none=True)
    d_loss.backward()
    d_opt.step()
    with autocast:
      logits = discriminator(generator(torch.randn(n, spec['latent_dim'])))
      g_loss = bce(logits.float(), torch.zeros(n, 1))
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    return d_loss.item(), g_loss.item()

  return step, {}
