"""pix2pix and CycleGAN in PyTorch as junyanz/pytorch-CycleGAN-and-pix2pix builds and trains them:
the throughput benchmark's peer for the `pix2pix` and `cyclegan` presets (and their `_256`
versions).

The networks are the reference's `models/networks.py` (`UnetGenerator` and its
`UnetSkipConnectionBlock`, `ResnetGenerator` and `ResnetBlock`, `NLayerDiscriminator`, batch norm
with affine parameters and running statistics, instance norm without either), written again in
the same `nn.Sequential` layout, so that their state dicts carry the reference's names:
`tests/test_peers.py` loads them into jaxgan's networks (`jaxgan.nets.translation_weights`) and
compares what both compute. The steps are the reference's `optimize_parameters`:

  pix2pix (`models/pix2pix_model.py`): G translates; D's loss is half the vanilla GAN loss
  (BCE on logits) of D(source, translation) against 0 plus of D(source, target) against 1, two
  passes; then G's loss is the GAN loss of D(source, translation) against 1 plus `l1_weight`
  times L1 to the target.
  CycleGAN (`models/cycle_gan_model.py`): both generators together on the LSGAN losses, the
  cycle losses (`cycle_weight` each) and the identity losses (`identity_weight * cycle_weight`),
  each generator run three times; then both discriminators, each on half its loss on real images
  and on translations drawn through its 50-image pool (`util/image_pool.py`).

Channels-last, Adam with the preset's betas, `torch.autocast` for bfloat16, as `torch_step.py`.
"""

import functools
import itertools
import random

import torch
from torch import nn


def _norm(kind: str):
  """`get_norm_layer`: batch norm with affine parameters and running statistics, or instance
  norm with neither."""
  if kind == 'batch':
    return functools.partial(nn.BatchNorm2d, affine=True, track_running_stats=True)
  if kind == 'instance':
    return functools.partial(nn.InstanceNorm2d, affine=False, track_running_stats=False)
  raise ValueError(f'unknown norm {kind!r}')


class UnetSkipConnectionBlock(nn.Module):
  def __init__(self, outer_nc, inner_nc, input_nc=None, submodule=None, outermost=False,
               innermost=False, norm_layer=None, use_dropout=False):
    super().__init__()
    self.outermost = outermost
    use_bias = norm_layer.func is nn.InstanceNorm2d
    input_nc = outer_nc if input_nc is None else input_nc
    downconv = nn.Conv2d(input_nc, inner_nc, 4, stride=2, padding=1, bias=use_bias)
    downrelu, downnorm = nn.LeakyReLU(0.2, True), norm_layer(inner_nc)
    uprelu, upnorm = nn.ReLU(True), norm_layer(outer_nc)
    if outermost:
      upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1)
      model = [downconv, submodule, uprelu, upconv, nn.Tanh()]
    elif innermost:
      upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, stride=2, padding=1, bias=use_bias)
      model = [downrelu, downconv, uprelu, upconv, upnorm]
    else:
      upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, stride=2, padding=1, bias=use_bias)
      model = [downrelu, downconv, downnorm, submodule, uprelu, upconv, upnorm]
      model += [nn.Dropout(0.5)] if use_dropout else []
    self.model = nn.Sequential(*model)

  def forward(self, x):
    return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


class UnetGenerator(nn.Module):
  def __init__(self, input_nc, output_nc, num_downs, ngf=64, norm_layer=None, use_dropout=False):
    super().__init__()
    block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, norm_layer=norm_layer, innermost=True)
    for _ in range(num_downs - 5):
      block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, norm_layer=norm_layer,
                                      use_dropout=use_dropout)
    for outer in (4, 2, 1):
      block = UnetSkipConnectionBlock(ngf * outer, ngf * outer * 2, submodule=block,
                                      norm_layer=norm_layer)
    self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block,
                                         outermost=True, norm_layer=norm_layer)

  def forward(self, x):
    return self.model(x)


class ResnetBlock(nn.Module):
  def __init__(self, dim, norm_layer, use_dropout, use_bias):
    super().__init__()
    block = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim),
             nn.ReLU(True)]
    block += [nn.Dropout(0.5)] if use_dropout else []
    block += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm_layer(dim)]
    self.conv_block = nn.Sequential(*block)

  def forward(self, x):
    return x + self.conv_block(x)


class ResnetGenerator(nn.Module):
  def __init__(self, input_nc, output_nc, ngf=64, norm_layer=None, use_dropout=False,
               n_blocks=6):
    super().__init__()
    use_bias = norm_layer.func is nn.InstanceNorm2d
    model = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias), norm_layer(ngf),
             nn.ReLU(True)]
    for mult in (1, 2):
      model += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                norm_layer(ngf * mult * 2), nn.ReLU(True)]
    model += [ResnetBlock(ngf * 4, norm_layer, use_dropout, use_bias) for _ in range(n_blocks)]
    for mult in (4, 2):
      model += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1,
                                   output_padding=1, bias=use_bias),
                norm_layer(ngf * mult // 2), nn.ReLU(True)]
    model += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
    self.model = nn.Sequential(*model)

  def forward(self, x):
    return self.model(x)


class NLayerDiscriminator(nn.Module):
  def __init__(self, input_nc, ndf=64, n_layers=3, norm_layer=None):
    super().__init__()
    use_bias = norm_layer.func is nn.InstanceNorm2d
    sequence = [nn.Conv2d(input_nc, ndf, 4, stride=2, padding=1), nn.LeakyReLU(0.2, True)]
    mult = 1
    for n in range(1, n_layers + 1):
      previous, mult = mult, min(2 ** n, 8)
      sequence += [nn.Conv2d(ndf * previous, ndf * mult, 4, stride=2 if n < n_layers else 1,
                             padding=1, bias=use_bias),
                   norm_layer(ndf * mult), nn.LeakyReLU(0.2, True)]
    sequence += [nn.Conv2d(ndf * mult, 1, 4, stride=1, padding=1)]
    self.model = nn.Sequential(*sequence)

  def forward(self, x):
    return self.model(x)


class ImagePool:
  """`util/image_pool.py`: while fewer than `size` images are pooled, each translation joins the
  pool and is used; then with probability 1/2 it replaces a random pooled image, which is used
  in its place, else it is used as it is."""

  def __init__(self, size: int):
    self.size, self.images = size, []

  def query(self, images):
    if self.size == 0:
      return images
    used = []
    for image in images.detach():
      image = image.unsqueeze(0)
      if len(self.images) < self.size:
        self.images.append(image)
        used.append(image)
      elif random.uniform(0, 1) > 0.5:
        i = random.randint(0, self.size - 1)
        used.append(self.images[i].clone())
        self.images[i] = image
      else:
        used.append(image)
    return torch.cat(used, 0)


def networks(spec) -> dict:
  """{jaxgan's network name: the reference's network} at the preset's sizes."""
  norm, channels = _norm(spec['norm']), spec['channels']
  if spec['arch'] == 'pix2pix':
    return {'G': UnetGenerator(channels, channels, spec['num_downs'], spec['ngf'], norm,
                               spec['g_dropout']),
            'D': NLayerDiscriminator(2 * channels, spec['ndf'], spec['d_layers'], norm)}
  if spec['arch'] == 'cyclegan':
    generator = lambda: ResnetGenerator(channels, channels, spec['ngf'], norm, spec['g_dropout'],
                                        spec['resnet_blocks'])
    discriminator = lambda: NLayerDiscriminator(channels, spec['ndf'], spec['d_layers'], norm)
    return {'G_ab': generator(), 'G_ba': generator(), 'D_a': discriminator(),
            'D_b': discriminator()}
  raise ValueError(f'not a translation preset: {spec["arch"]}')


def _requires_grad(nets, flag: bool) -> None:
  for net in nets:
    for parameter in net.parameters():
      parameter.requires_grad = flag


def make_step(spec, images, device: str):
  """(a function running one train step and returning when it is done, facts about the step);
  the batch's images serve as both the sources and the targets, as jaxgan's worker gives them."""
  random.seed(0)  # the pools' draws
  nets = {name: net.to(memory_format=torch.channels_last)
          for name, net in networks(spec).items()}
  adam = lambda rate, *nets: torch.optim.Adam(itertools.chain(*(n.parameters() for n in nets)),
                                              rate, (spec['adam_b1'], spec['adam_b2']),
                                              spec['adam_eps'])
  real = (torch.from_numpy(images).to(device).permute(0, 3, 1, 2).float() / 127.5 - 1).contiguous(
      memory_format=torch.channels_last)
  autocast = torch.autocast(device, torch.bfloat16, enabled=spec['dtype'] == 'bfloat16')
  l1 = nn.L1Loss()
  if spec['arch'] == 'pix2pix':
    generator, discriminator = nets['G'], nets['D']
    g_opt, d_opt = adam(spec['g_lr'], generator), adam(spec['d_lr'], discriminator)
    gan = nn.BCEWithLogitsLoss()
    source = target = real

    def step():
      with autocast:
        fake = generator(source)
        fake_logits = discriminator(torch.cat([source, fake.detach()], 1)).float()
        real_logits = discriminator(torch.cat([source, target], 1)).float()
        d_loss = 0.5 * (gan(fake_logits, torch.zeros_like(fake_logits))
                        + gan(real_logits, torch.ones_like(real_logits)))
      d_opt.zero_grad(set_to_none=True)
      d_loss.backward()
      d_opt.step()
      _requires_grad([discriminator], False)
      with autocast:
        logits = discriminator(torch.cat([source, fake], 1)).float()
        g_loss = (gan(logits, torch.ones_like(logits))
                  + spec['l1_weight'] * l1(fake.float(), target))
      g_opt.zero_grad(set_to_none=True)
      g_loss.backward()
      g_opt.step()
      _requires_grad([discriminator], True)
      return d_loss.item(), g_loss.item()

    return step, {}

  g_ab, g_ba, d_a, d_b = (nets[name] for name in ('G_ab', 'G_ba', 'D_a', 'D_b'))
  g_opt, d_opt = adam(spec['g_lr'], g_ab, g_ba), adam(spec['d_lr'], d_a, d_b)
  mse = nn.MSELoss()
  pools = {'a': ImagePool(spec['pool_size']), 'b': ImagePool(spec['pool_size'])}
  cycle, identity = spec['cycle_weight'], spec['identity_weight'] * spec['cycle_weight']
  real_a = real_b = real

  def judged(net, images, target: float):
    logits = net(images).float()
    return mse(logits, torch.full_like(logits, target))

  def step():
    with autocast:
      fake_b, fake_a = g_ab(real_a), g_ba(real_b)
      rec_a, rec_b = g_ba(fake_b), g_ab(fake_a)
    _requires_grad([d_a, d_b], False)
    with autocast:
      g_loss = (identity * (l1(g_ab(real_b).float(), real_b) + l1(g_ba(real_a).float(), real_a))
                + judged(d_b, fake_b, 1.0) + judged(d_a, fake_a, 1.0)
                + cycle * (l1(rec_a.float(), real_a) + l1(rec_b.float(), real_b)))
    g_opt.zero_grad(set_to_none=True)
    g_loss.backward()
    g_opt.step()
    _requires_grad([d_a, d_b], True)
    d_opt.zero_grad(set_to_none=True)
    d_loss = 0.0
    for net, real_images, fakes, domain in ((d_b, real_b, fake_b, 'b'), (d_a, real_a, fake_a, 'a')):
      with autocast:
        loss = 0.5 * (judged(net, real_images, 1.0)
                      + judged(net, pools[domain].query(fakes), 0.0))
      loss.backward()
      d_loss += loss.item()
    d_opt.step()
    return d_loss, g_loss.item()

  return step, {}
