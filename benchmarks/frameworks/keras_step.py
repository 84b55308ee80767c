"""The keras.io example's DCGAN in Keras on TensorFlow, as the example trains it: its `GAN` class
as the example writes it (`KerasExampleGAN`, metrics included), whose `train_step`
(`tf.GradientTape`) runs inside a `tf.function`, which is what `fit` runs on a CPU-only machine.

The networks follow the keras.io example's `keras.Sequential` models, with the sizes of the jaxgan
preset being compared. As in the keras.io example, `train_step` calls the discriminator without
`training=True`, so Keras keeps its Dropout inactive.
"""

import os

os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402
from keras import layers  # noqa: E402

VERSION = f'tensorflow {tf.__version__}, keras {keras.__version__}'


def networks(spec):
  generator = keras.Sequential([
      keras.Input(shape=(spec['latent_dim'],)),
      layers.Dense(spec['g_base'] ** 2 * spec['g_dense_features']),
      layers.Reshape((spec['g_base'], spec['g_base'], spec['g_dense_features'])),
      *[layer for width in spec['g_widths'] for layer in (
          layers.Conv2DTranspose(width, kernel_size=4, strides=2, padding='same'),
          layers.LeakyReLU(negative_slope=0.2))],
      layers.Conv2D(spec['channels'], kernel_size=5, padding='same', activation='sigmoid',
                    dtype='float32'),  # mixed precision: images leave in float32
  ])
  size = spec['image_size']
  discriminator = keras.Sequential([
      keras.Input(shape=(size, size, spec['channels'])),
      *[layer for width in spec['d_widths'] for layer in (
          layers.Conv2D(width, kernel_size=4, strides=2, padding='same'),
          layers.LeakyReLU(negative_slope=0.2))],
      layers.Flatten(),
      layers.Dropout(0.2),
      layers.Dense(1, activation='sigmoid'),
  ])
  return generator, discriminator


class KerasExampleGAN(keras.Model):
  """The keras.io example's `GAN` class as it writes it (metrics included)."""

  def __init__(self, discriminator, generator, latent_dim):
    super().__init__()
    self.discriminator = discriminator
    self.generator = generator
    self.latent_dim = latent_dim

  def compile(self, d_optimizer, g_optimizer, loss_fn):
    super().compile()
    self.d_optimizer = d_optimizer
    self.g_optimizer = g_optimizer
    self.loss_fn = loss_fn
    self.d_loss_metric = keras.metrics.Mean(name='d_loss')
    self.g_loss_metric = keras.metrics.Mean(name='g_loss')

  @property
  def metrics(self):
    return [self.d_loss_metric, self.g_loss_metric]

  def train_step(self, real_images):
    batch_size = tf.shape(real_images)[0]
    random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
    generated_images = self.generator(random_latent_vectors)
    combined_images = tf.concat([generated_images, real_images], axis=0)
    labels = tf.concat([tf.ones((batch_size, 1)), tf.zeros((batch_size, 1))], axis=0)
    labels += 0.05 * tf.random.uniform(tf.shape(labels))
    with tf.GradientTape() as tape:
      predictions = self.discriminator(combined_images)
      d_loss = self.loss_fn(labels, predictions)
    grads = tape.gradient(d_loss, self.discriminator.trainable_weights)
    self.d_optimizer.apply_gradients(zip(grads, self.discriminator.trainable_weights))
    random_latent_vectors = tf.random.normal(shape=(batch_size, self.latent_dim))
    misleading_labels = tf.zeros((batch_size, 1))
    with tf.GradientTape() as tape:
      predictions = self.discriminator(self.generator(random_latent_vectors))
      g_loss = self.loss_fn(misleading_labels, predictions)
    grads = tape.gradient(g_loss, self.generator.trainable_weights)
    self.g_optimizer.apply_gradients(zip(grads, self.generator.trainable_weights))
    self.d_loss_metric.update_state(d_loss)
    self.g_loss_metric.update_state(g_loss)
    return {'d_loss': self.d_loss_metric.result(), 'g_loss': self.g_loss_metric.result()}


def make_step(spec, images):
  """(a function running one train step and returning when it is done, facts about the step)."""
  if spec['dtype'] == 'bfloat16':  # variables float32, compute bfloat16, as jaxgan's option
    keras.mixed_precision.set_global_policy('mixed_bfloat16')
  if spec['label_noise'] != 0.05:
    raise ValueError(f"the keras.io example's train_step adds 0.05 * U(0, 1) label noise, not "
                     f"{spec['label_noise']}")
  generator, discriminator = networks(spec)
  gan = KerasExampleGAN(discriminator, generator, spec['latent_dim'])
  gan.compile(d_optimizer=keras.optimizers.Adam(spec['d_lr']),
              g_optimizer=keras.optimizers.Adam(spec['g_lr']),
              loss_fn=keras.losses.BinaryCrossentropy())
  batch = tf.constant(images, tf.float32) / 255.0  # the example rescales in its tf.data pipeline
  train_step = tf.function(gan.train_step)
  return lambda: [loss.numpy() for loss in train_step(batch).values()], {}
