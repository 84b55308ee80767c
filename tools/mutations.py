"""Breaks the code on purpose, one claim at a time, and shows which test catches each break.

  python tools/mutations.py [--only NAME ...] [--list]

Each mutation replaces one piece of text in the library (or the presets) with a wrong version of
it, runs the tests that prove the claim, and restores the file. A mutation caught by no test is a
claim without a test that can fail. The texts belong to this version of the code: a mutation
whose text is gone says so ("not applied") instead of passing silently; update it with the code.
Runs in a scratch copy of the repository, so the working tree is never left broken.
"""

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import NamedTuple

ROOT = Path(__file__).resolve().parents[1]

# The tests that prove each claim.
N_DEVICES = 'tests/test_parallel.py::test_n_devices_train_the_one_device_run'
DEVICE_COUNTS = 'tests/test_parallel.py::test_resume_on_8_then_2_then_1_devices_is_the_one_device_run'
DIVERGENCE = 'tests/test_resume.py::test_divergence_stops_without_writing_a_checkpoint'
COMPOSED = 'tests/test_game.py::test_composed_step_equals_the_game_written_out_by_hand'
EMA_SAMPLES = 'tests/test_sample.py::test_samples_and_the_sampling_tool_use_the_ema_generator'
DTYPES = 'tests/test_resume.py::test_a_checkpoint_resumes_under_the_other_dtype'
SPECTRAL_NORM = 'tests/test_game.py::test_spectral_norm_keeps_each_layer_near_unit_norm_while_training'
COLOR = 'tests/test_game.py::test_color_is_brightness_saturation_and_contrast_drawn_per_image'
FLOPS = 'tests/test_benchmarks.py::test_step_flops_equal_xla_cost_analysis_of_the_keras_step'
SEAMS = 'tests/test_seams.py'
INCEPTION = 'tests/test_inception.py'
METRICS = 'tests/test_metrics.py'
RECIPES = 'tests/test_recipes.py'
OUTPUTS = 'tests/test_outputs.py'
FLAGS = 'tests/test_flags.py'
PHASES = 'tests/test_seams.py::test_regularizers_as_their_own_optimizer_steps_equal_the_phases_written_out'
STYLEGAN2 = 'tests/test_stylegan2.py'
R3GAN = 'tests/test_r3gan.py'
ADA = 'tests/test_ada.py::test_each_transformation_equals_the_references'
PGGAN = 'tests/test_pggan.py'
LOGBOOK = 'tests/test_logbook.py'
STEPS_PER_CALL = ('tests/test_parallel.py::'
                  'test_steps_handed_over_several_a_call_are_the_steps_one_a_call')
PROGRAMS = 'tests/test_seams.py::test_a_run_continued_in_the_same_process_traces_its_step_once'
NO_TRANSFERS = ('tests/test_parallel.py::test_the_loop_sends_each_batch_a_step_ahead_and_'
                'transfers_nothing_implicitly')
GRAIN = 'tests/test_data.py::test_grain_worker_processes_read_the_batches_of_one_reader'
DAMAGED = ('tests/test_resume.py::'
           'test_a_damaged_checkpoint_is_moved_aside_and_the_run_resumes_from_the_one_before')
ACCURACY = 'tests/test_losses.py::test_the_accuracy_calls_real_what_the_optimal_discriminator_would'
PGGAN_COMPOSED = 'tests/test_pggan.py::test_a_progressive_step_is_the_adversarial_step_on_faded_reals'
PGGAN_SCHEDULE = 'tests/test_pggan.py::test_schedule_alpha_and_resets_are_the_references'
TRANSLATION = 'tests/test_translation.py'
WINOGRAD = 'tests/test_layers.py'
PIX2PIX_STEP = 'tests/test_pix2pix.py::test_the_step_is_the_references_optimize_parameters_written_out'


class Mutation(NamedTuple):
  name: str
  claim: str
  path: str
  old: str
  new: str
  tests: tuple[str, ...]


MUTATIONS = [
    Mutation('no-pmean', 'N devices train the one-device run', 'jaxgan/step.py',
             'grads = self.average(grads)', 'grads = grads',
             (N_DEVICES,)),
    Mutation('psum', 'gradients are averaged over devices, not summed', 'jaxgan/step.py',
             'return tree if self.axis_name is None else jax.lax.pmean(tree, self.axis_name)',
             'return tree if self.axis_name is None else jax.tree.map(lambda x: jax.lax.psum(x, '
             'self.axis_name) if x.ndim else jax.lax.pmean(x, self.axis_name), tree)',
             (N_DEVICES,)),
    Mutation('same-latents-on-every-device', 'the latents do not depend on the device count',
             'jaxgan/step.py', 'jax.lax.axis_index(self.axis_name) * n, n)', '0, n)',
             (DEVICE_COUNTS,)),
    Mutation('nan-seen-late', 'a NaN loss stops the run naming the exact step', 'jaxgan/step.py',
             "(state.nonfinite_step == 0) & ~finite, state.step + 1,",
             "(state.nonfinite_step == 0) & ~finite & (state.step % 4 == 3), state.step + 1,",
             (DIVERGENCE,)),
    Mutation('augment-fakes-only', 'augmentation reaches the real and the generated batch',
             'jaxgan/games/adversarial.py',
             "both = augmented(rules, state, keys['augment'], jnp.concatenate([fake, real]))",
             "both = jnp.concatenate([augmented(rules, state, keys['augment'], fake), real])",
             (COMPOSED,)),
    Mutation('no-augment-for-generator', 'the generator trains through the augmentation',
             'jaxgan/games/adversarial.py',
             "seen = augmented(play.rules, state, keys['augment'], fake)", 'seen = fake',
             (COMPOSED,)),
    Mutation('penalty-without-gradient', 'a penalty reaches the gradient',
             'jaxgan/games/adversarial.py',
             'return loss + penalty, (aux, penalty, piece)',
             'return loss + jax.lax.stop_gradient(penalty), (aux, penalty, piece)',
             (COMPOSED,)),
    Mutation('one-real-batch-for-all-critic-updates', 'each critic update on its own real batch',
             'jaxgan/games/adversarial.py', 'state, metrics = critic_update(play, state, real[i],',
             'state, metrics = critic_update(play, state, real[0],',
             (COMPOSED,)),
    Mutation('samples-from-raw-generator', 'samples come from the EMA generator', 'jaxgan/state.py',
             'params = self.ema[name] if ema and name in self.ema else self.params[name]',
             'params = self.params[name]',
             (EMA_SAMPLES,)),
    Mutation('dtype-fixes-the-shapes', 'a checkpoint resumes under either dtype',
             'jaxgan/config.py', "fields = ('arch', 'image_size', 'channels', 'optimizer',",
             "fields = ('arch', 'image_size', 'channels', 'optimizer', 'dtype',",
             (DTYPES,)),
    Mutation('dtype-ignored', 'the resumed run computes in the dtype asked for',
             'jaxgan/families/dcgan.py', 'dtype = jnp.dtype(config.dtype)',
             "dtype = jnp.dtype('float32')",
             (DTYPES,)),
    Mutation('keras-dropout-active', "dcgan64 keeps the keras.io example's dropout inactive",
             'jaxgan/families/dcgan.py', 'family=DCGAN(d_dropout=0.0))',
             'family=DCGAN(d_dropout=0.2))',
             ('tests/test_reference.py',)),
    Mutation('optax-epsilon', "Keras' Adam exactly", 'jaxgan/optim.py',
             'updates = jax.tree.map(lambda m, v: alpha * m / (jnp.sqrt(v) + eps), mu, nu)',
             'updates = jax.tree.map(lambda m, v: alpha * m / (jnp.sqrt(v) + eps / jnp.sqrt(1 - b2 '
             '** t)), mu, nu)',
             ('tests/test_reference.py',)),
    Mutation('label-noise-ignored', "the keras.io example's label noise", 'jaxgan/losses.py',
             'labels = labels + label_noise * jax.random.uniform(key, labels.shape)',
             'labels = labels + 0.0 * jax.random.uniform(key, labels.shape)',
             ('tests/test_reference.py',)),
    Mutation('no-spectral-norm', 'spectral norm divides each weight by its top singular value',
             'jaxgan/nets/dcgan.py', 'return nn.SpectralNorm(layer)(x, update_stats=update_stats)',
             'nn.SpectralNorm(layer)(x, update_stats=update_stats)\n    return layer(x)',
             (SPECTRAL_NORM,)),
    Mutation('color-without-contrast', "DiffAugment's color", 'jaxgan/augment.py',
             "_per_image(k_contrast, images, 0.5, 1.5) + mean", "1.0 + mean",
             (COLOR,)),
    Mutation('keys-in-another-order', "today's presets compute what they computed",
             'jaxgan/games/adversarial.py', "KEY_NAMES = ('z', 'drop', 'loss', 'augment',",
             "KEY_NAMES = ('drop', 'z', 'loss', 'augment',",
             ('tests/test_presets_pinned.py',)),
    Mutation('ema-half-as-fast', "today's presets compute what they computed", 'jaxgan/step.py',
             'optax.incremental_update(state.params[name], ema, 1.0 - decay)',
             'optax.incremental_update(state.params[name], ema, 0.5 * (1.0 - decay))',
             ('tests/test_presets_pinned.py',)),
    Mutation('f-gan-critic-sign', 'f-GAN: at the optimum, -d/loss estimates D_f',
             'jaxgan/losses.py', '(row.conjugate_of_activation(fake).mean()',
             '(-row.conjugate_of_activation(fake).mean()',
             ('tests/test_losses.py',)),
    Mutation('hellinger-activation', 'f-GAN rows follow the paper', 'jaxgan/losses.py',
             'activation=lambda v: 1 - jnp.exp(-v),', 'activation=lambda v: 1 - jnp.exp(v),',
             ('tests/test_losses.py',)),
    Mutation('projection-left-out', 'the projection discriminator adds <embed(y), phi(x)>',
             'jaxgan/nets/dcgan.py', 'logits += jnp.sum(', 'logits += 0 * jnp.sum(',
             ('tests/test_nets.py',)),
    Mutation('fake-labels-per-device', 'conditional: N devices train the one-device run',
             'jaxgan/games/adversarial.py', 'key = jax.random.fold_in(key, LABEL_STREAM)',
             'key = ctx.per_device(jax.random.fold_in(key, LABEL_STREAM))',
             (N_DEVICES,)),
    Mutation('real-images-with-generated-labels', 'the critic sees each real image with its label',
             'jaxgan/games/adversarial.py', 'jnp.concatenate([generated_labels, labels])',
             'jnp.concatenate([generated_labels, generated_labels])',
             (COMPOSED,)),
    Mutation('flops-without-generator-input-gradients', 'the benchmark counts the step\'s FLOPs',
             'benchmarks/flops.py', 'sum(d) + sum(d) + sum(g) + sum(g[1:])',
             'sum(d) + sum(d) + sum(g) + 0',
             (FLOPS,)),
    Mutation('noise-not-its-own-stream', "the generator's noise is a stream of its own",
             'jaxgan/games/adversarial.py',
             'return play.ctx.per_device(jax.random.fold_in(key, NOISE_STREAM))',
             'return play.ctx.per_device(key)',
             (SEAMS,)),
    Mutation('path-length-mean-frozen', "path length's running mean is its state",
             'jaxgan/regularizers.py',
             'return weight * jnp.mean(jnp.square(lengths - new_mean)), new_mean',
             'return weight * jnp.mean(jnp.square(lengths - new_mean)), mean_length',
             (SEAMS,)),
    Mutation('augmentation-never-observes', "ADA's p follows the discriminator's outputs",
             'jaxgan/games/adversarial.py', "pieces['augment'] = rules.augment.observe(",
             "pieces['augment'] = (lambda state, *_: state)(",
             (SEAMS,)),
    Mutation('grow-forgets-the-trained-layers', 'a stage keeps what the previous one trained',
             'jaxgan/games/adversarial.py', 'return merged(fresh, state)',
             "return merged(fresh, state.replace(params={**state.params, 'G': {}}))",
             (SEAMS,)),
    Mutation('cycle-identity-swapped', "the cycle game's losses are CycleGAN's",
             'jaxgan/games/cycle.py',
             "l1(translate(state, 'G_ab', params['G_ab'], real_b), real_b)",
             "l1(translate(state, 'G_ab', params['G_ab'], real_a), real_a)",
             (RECIPES,)),
    Mutation('fid-pool-counts-padding', "FID's Inception pools as pytorch-fid's",
             'jaxgan/evaluate/inception/__init__.py', 'count_include_pad=False)', 'count_include_pad=True)',
             (INCEPTION,)),
    Mutation('fid-resize-antialiased', 'the resize to 299 is pytorch-fid\'s (no antialiasing)',
             'jaxgan/evaluate/inception/__init__.py', "'bilinear', antialias=False)",
             "'bilinear', antialias=True)",
             (INCEPTION,)),
    Mutation('kid-biased', 'KID is the unbiased MMD', 'jaxgan/evaluate/metrics.py',
             '(within.sum() - np.trace(within)) / (m * (m - 1))', 'within.sum() / (m * m)',
             (METRICS,)),
    Mutation('precision-with-own-radius', 'precision uses the real manifold\'s k-NN radii',
             'jaxgan/evaluate/metrics.py',
             'precision = np.mean(_inside_counts(fake, real, nearest_neighbour_radii(real, k)) > 0)',
             'precision = np.mean(_inside_counts(fake, real, nearest_neighbour_radii(real, k + 1)) '
             '> 0)',
             (METRICS,)),
    Mutation('is-logits-biased', "the Inception Score's logits are torch-fidelity's unbiased ones",
             'jaxgan/evaluate/inception/__init__.py',
             "np.asarray(params['fc']['kernel'], np.float32)",
             "np.asarray(params['fc']['kernel'], np.float32) + params['fc']['bias']",
             (INCEPTION,)),
    Mutation('is-unshuffled', 'the Inception Score splits the samples as torch-fidelity does',
             'jaxgan/evaluate/metrics.py', 'shuffle_seed: int | None = 2020',
             'shuffle_seed: int | None = None', (METRICS,)),
    Mutation('eval-real-images-unshuffled', 'the inception evaluation compares with a drawn set of '
             'real images, cached', 'jaxgan/evaluate/training.py',
             'images = examples.batch(np.sort(indices[:count]))',
             'images = examples.batch(np.arange(count))',
             ('tests/test_evaluation.py::test_inception_evaluation_during_training_on_the_runs_own_data',)),
    Mutation('regularizer-steps-joined', 'regularizers take their own optimizer steps (phases)',
             'jaxgan/games/adversarial.py', '  if not play.rules.regularizer_steps:',
             '  if True:', (PHASES,)),
    Mutation('regularizer-steps-off-schedule', 'a regularizer step runs when the regularizer is due',
             'jaxgan/games/adversarial.py', 'state.step % regularizer.every == 0',
             'state.step % regularizer.every == 1', (PHASES,)),
    Mutation('ema-rampup-ignored', "StyleGAN2's EMA half-life ramps up", 'jaxgan/step.py',
             '    if rampup > 0:', '    if False:',
             ('tests/test_seams.py::test_ema_half_life_in_images_with_rampup',)),
    Mutation('sg2-up-conv-correlates', "the reference's upsampling layers convolve (flip_weight)",
             'jaxgan/nets/stylegan2.py',
             "resample_filter=setup_filter(), flip_weight=self.up == 1)",
             "resample_filter=setup_filter(), flip_weight=True)", (STYLEGAN2,)),
    Mutation('sg2-no-demodulation', 'StyleGAN2 demodulates', 'jaxgan/nets/stylegan2.py',
             '  if demodulate:\n    # sum', '  if False:\n    # sum', (STYLEGAN2,)),
    Mutation('sg2-w-avg-wrong-way', 'w_avg tracks the mapped latents as the reference lerps',
             'jaxgan/nets/stylegan2.py',
             'w_avg.value = mean + self.w_avg_beta * (w_avg.value - mean)',
             'w_avg.value = w_avg.value + self.w_avg_beta * (mean - w_avg.value)', (STYLEGAN2,)),
    Mutation('sg2-mbstd-adjacent-groups', "minibatch stddev groups samples as the reference",
             'jaxgan/nets/layers.py',
             'y = x.astype(jnp.float32).reshape(g, -1, h, w, num_channels, c // num_channels)',
             'y = x.astype(jnp.float32).reshape(-1, g, h, w, num_channels, c // num_channels)'
             '.swapaxes(0, 1)', (STYLEGAN2,)),
    Mutation('sg2-upsample-gain', 'the skip image is upsampled with gain up**2',
             'jaxgan/nets/stylegan2.py', 'up=up, padding=(p0, p1, p0, p1), gain=up ** 2)\n\n',
             'up=up, padding=(p0, p1, p0, p1), gain=up)\n\n', (STYLEGAN2,)),
    Mutation('ada-down-filter-flipped', "ADA downsamples with the reference's filter orientation",
             'jaxgan/ada.py', 'return upfirdn2d(x, f[::-1, ::-1], down=2,',
             'return upfirdn2d(x, f, down=2,', (ADA,)),
    Mutation('ada-grid-align-corners', 'ADA samples as grid_sample(align_corners=False)',
             'jaxgan/ada.py', 'x = ((grid[..., 0] + 1) * w - 1) / 2',
             'x = (grid[..., 0] + 1) * (w - 1) / 2', (ADA,)),
    Mutation('ada-grey-colour-rule', "ADA's colour matrix on grey images: its rows' sums",
             'jaxgan/ada.py', 'images * mean[:, None, None, None, :3].sum(-1)',
             'images * mean[:, None, None, None, 0]', (ADA,)),
    Mutation('ada-p-not-reported', 'ADA logs p', 'jaxgan/games/adversarial.py',
             "    metrics = {**metrics, **rules.augment.report(pieces['augment'])}\n", '',
             ('tests/test_ada.py::test_ada_p_is_logged_saved_and_resumed_exactly',)),
    Mutation('quality-check-in-model-range', "the end-of-run check reads samples in [0, 1]",
             'jaxgan/families/common.py',
             'return report(in_unit_range(samples_of(inputs)), *labels)',
             'return report(samples_of(inputs), *labels)',
             ('tests/test_stylegan2.py::test_stylegan2_trains_and_resumes_exactly',)),
    Mutation('style-mix-from-rows', "the style-mixing grid takes the column seeds' styles",
             'jaxgan/sample/__init__.py', 'w[styles] = by_seed[column][styles]',
             'w[styles] = by_seed[row][styles]',
             ('tests/test_stylegan2.py::test_style_mixing_grid_is_the_references_figure',)),
    Mutation('eval-samples-from-raw-generator', 'evaluations use the EMA generator',
             'jaxgan/train.py',
             'sampler = self.parallel.local(self.state.variables(self.game.sampler, ema=True))',
             'sampler = self.parallel.local(self.state.variables(self.game.sampler))',
             ('tests/test_evaluation.py::test_evaluations_during_training_and_the_best_checkpoint',)),
    Mutation('pggan-up-conv-not-flipped', "the upscaling convolution is conv2d_transpose's",
             'jaxgan/nets/pggan.py',
             'x = conv_transpose_by_phases(x, _fused_kernel(weight)[::-1, ::-1], 2)',
             'x = conv_transpose_by_phases(x, _fused_kernel(weight), 2)', (PGGAN,)),
    Mutation('pggan-down-conv-not-averaged', 'the downscaling convolution averages 2x2',
             'jaxgan/nets/pggan.py', '_fused_kernel(weight) * 0.25', '_fused_kernel(weight)',
             (PGGAN,)),
    Mutation('pggan-generator-fade-reversed', "the generator's image fades toward the new one",
             'jaxgan/nets/pggan.py', 'image = previous + alpha * (image - previous)',
             'image = image + alpha * (previous - image)', (PGGAN,)),
    Mutation('pggan-discriminator-fade-reversed', "the discriminator's features fade likewise",
             'jaxgan/nets/pggan.py', 'x = previous + alpha * (x - previous)',
             'x = x + alpha * (previous - x)', (PGGAN,)),
    Mutation('pggan-reals-not-faded', 'real images fade as the generated ones',
             'jaxgan/games/progressive.py', 'pggan.fade_reals(reals, alpha) if stage else reals',
             'reals', (PGGAN_COMPOSED,)),
    Mutation('pggan-alpha-not-written', 'alpha is written into the networks every step',
             'jaxgan/games/progressive.py', '      state = with_alpha(state, alpha)\n', '',
             (PGGAN_COMPOSED,)),
    Mutation('pggan-no-optimizer-reset', "Adam's state resets where the reference's does",
             'jaxgan/games/progressive.py', '        state = with_fresh_optimizers(state)\n',
             '        pass\n', (PGGAN_SCHEDULE,)),
    Mutation('pggan-reset-after-the-fade', "the second reset is on the fade's last step",
             'jaxgan/games/progressive.py', 'start + max(fade_steps - 1, 0)',
             'start + fade_steps', (PGGAN_SCHEDULE,)),
    Mutation('pggan-stage-a-step-early', "a stage begins where the reference's lod drops",
             'jaxgan/games/progressive.py', ' + (fade_steps > 0)', '', (PGGAN_SCHEDULE,)),
    Mutation('pggan-levels-truncated', 'lower levels of detail are rounded, not truncated',
             'jaxgan/data.py', 'return np.rint(x).clip(0, 255).astype(np.uint8) if levels else x',
             'return x.astype(np.uint8) if levels else x', (PGGAN,)),
    Mutation('critic-sees-both-batches-together', "PGGAN's critic sees real and generated "
             'batches apart', 'jaxgan/families/pggan.py', 'joint_critic=False))',
             'joint_critic=True))', (PGGAN_COMPOSED,)),
    Mutation('stylegan2-critic-sees-both-batches-together', "StyleGAN2's critic sees real and "
             'generated batches apart', 'jaxgan/families/stylegan2.py',
             'value_range=(-1.0, 1.0), joint_critic=False)',
             'value_range=(-1.0, 1.0), joint_critic=True)',
             ('tests/test_stylegan2.py::test_stylegan2_trains_and_resumes_exactly',)),
    Mutation('no-workdir-lock', 'one run per workdir', 'jaxgan/train.py',
             'with _workdir_lock(workdir, jax.process_index() == 0):',
             'with contextlib.nullcontext():',
             ('tests/test_resume.py::test_signal_finishes_the_step_saves_and_exits',)),
    Mutation('unknown-config-fields', "a config of another version is one line naming its "
             'fields', 'jaxgan/config.py',
             'if unknown := sorted(set(values) - known):', 'if unknown := []:',
             ('tests/test_resume.py::'
              'test_a_checkpoint_of_another_version_is_one_line_naming_its_fields',)),
    Mutation('interpolation-linear-in-z', 'interpolations between Gaussian latents are '
             'spherical', 'jaxgan/sample/__init__.py', '  if np.sin(omega) < 1e-6:', '  if True:',
             ('tests/test_sample.py::test_interpolation_walks_spherically_between_latents',)),
    Mutation('interpolation-in-z-for-stylegan2', "StyleGAN2's walk is linear in W",
             'jaxgan/sample/__init__.py', "  if not hasattr(network, 'synthesize'):\n    if truncation_psi",
             '  if True:\n    if truncation_psi',
             ('tests/test_stylegan2.py::test_interpolation_walks_in_w_with_constant_noise',)),
    Mutation('batch-norm-biased-running-var', "running variances are torch's (unbiased)",
             'jaxgan/nets/translation.py', '* count / max(count - 1, 1))', ')', (TRANSLATION,)),
    Mutation('conv-transpose-padding', "CycleGAN's transposed convolution pads as torch's",
             'jaxgan/nets/translation.py',
             'before, after = k - 1 - self.padding, k - 1 - self.padding + self.output_padding',
             'before, after = k - 1 - self.padding + self.output_padding, k - 1 - self.padding',
             (TRANSLATION,)),
    Mutation('patch-condition-last', "pix2pix's discriminator sees cat(source, image)",
             'jaxgan/nets/translation.py',
             'x = jnp.concatenate([condition.astype(x.dtype), x], axis=-1)',
             'x = jnp.concatenate([x, condition.astype(x.dtype)], axis=-1)', (TRANSLATION,)),
    Mutation('instance-norm-over-batch', 'instance norm normalizes each sample apart',
             'jaxgan/nets/translation.py', 'm = x32.mean((1, 2), keepdims=True)',
             'm = x32.mean((0, 1, 2), keepdims=True)', (TRANSLATION,)),
    Mutation('pix2pix-d-loss-unhalved', "pix2pix's discriminator loss is halved",
             'jaxgan/games/paired.py', 'd_loss = 0.5 * loss.discriminator(',
             'd_loss = loss.discriminator(', (PIX2PIX_STEP,)),
    Mutation('pix2pix-l1-unweighted', "pix2pix's L1 term is weighted by l1_weight",
             'jaxgan/games/paired.py', 'l1 = l1_weight * jnp.mean(', 'l1 = jnp.mean(',
             (PIX2PIX_STEP,)),
    Mutation('pix2pix-g-stats-kept', "the generator's running statistics advance",
             'jaxgan/games/paired.py', "collections={'G': g_collections,",
             "collections={'G': state.collections['G'],", (PIX2PIX_STEP,)),
    Mutation('pool-always-swaps', "the pool swaps with probability 1/2, as the reference's",
             'jaxgan/games/cycle.py', 'swap = ~filling & (jax.random.uniform(k_swap) > 0.5)',
             'swap = ~filling', ('tests/test_seams.py::test_the_pool_answers_as_the_references_image_pool',)),
    Mutation('pool-per-device', 'one pool serves the global batch', 'jaxgan/games/cycle.py',
             'state.pieces[f\'pool_{domain}\'], ctx.all_rows(fakes[domain]),',
             'state.pieces[f\'pool_{domain}\'], fakes[domain],',
             ('tests/test_seams.py::test_a_game_of_four_networks_shares_the_loop',)),
    Mutation('cycle-d-unhalved', "CycleGAN's discriminator losses are halved",
             'jaxgan/games/cycle.py', "metrics[f'd_{domain}/loss'] = 0.5 * loss.discriminator(",
             "metrics[f'd_{domain}/loss'] = loss.discriminator(",
             ('tests/test_recipes.py::test_cyclegan_losses_are_the_references_at_the_presets_weights',)),
    Mutation('lsgan-generator-halved', "the reference's LSGAN generator term is not halved",
             'jaxgan/losses.py',
             'generator=lambda fake, key: jnp.square(fake - 1).mean(), says_real=_nearer_one)',
             'generator=lambda fake, key: 0.5 * jnp.square(fake - 1).mean(), '
             'says_real=_nearer_one)',
             ('tests/test_losses.py::test_losses_match_their_formulas', RECIPES)),
    Mutation('commands-named-as-scripts', 'an installed command names itself in its messages',
             'jaxgan/commands/common.py',
             "return command if command.startswith('jaxgan-') else prog",
             'return prog', ('tests/test_cli.py::test_each_command_names_itself_and_lists_its_'
                             'flags',)),
    Mutation('hflip-target-only', 'a pair is mirrored as one', 'jaxgan/data.py',
             '        if images.ndim == 4:', "        if name == 'image':",
             ('tests/test_pix2pix.py::test_hflip_mirrors_source_and_target_together',)),
    Mutation('linear-decay-late', "the linear decay is the reference's lambda rule",
             'jaxgan/optim.py', 'jnp.maximum(0, count + 1 - half)', 'jnp.maximum(0, count - half)',
             ('tests/test_pix2pix.py::test_the_linear_decay_is_the_references_lambda_rule',)),
    Mutation('accuracy-sides-swapped', 'the accuracy calls real what the loss calls real',
             'jaxgan/losses.py', 'jax.nn.softplus(-fake).mean(), says_real=_positive)',
             'jax.nn.softplus(-fake).mean(), says_real=lambda logits: logits < 0)',
             (COMPOSED, ACCURACY)),
    Mutation('least-squares-decision-at-zero', "least squares' decision is at 1/2",
             'jaxgan/losses.py', 'return outputs > 0.5', 'return outputs > 0', (ACCURACY,)),
    Mutation('gradient-norm-of-the-parameters', 'the gradient norms are of the gradients',
             'jaxgan/step.py', 'optax.tree.norm(grad) for', 'optax.tree.norm(state.params[name]) for',
             (COMPOSED, PIX2PIX_STEP)),
    Mutation('tensorboard-not-purged', "a resumed run's TensorBoard hides what it logs again",
             'jaxgan/logbook.py', 'purge_step=first_step + 1 if first_step else None',
             'purge_step=None', (LOGBOOK,)),
    Mutation('learning-rate-after-the-update', 'lr/NAME is the rate the latest update used',
             'jaxgan/games/__init__.py', 'max(int(counts[0][1]) - 1, 0)', 'int(counts[0][1])',
             (LOGBOOK,)),
    Mutation('damaged-checkpoint-stops-the-run', 'a damaged checkpoint is passed over for the '
             'one before', 'jaxgan/checkpoint.py', 'damaged.append((step, _reason(error)))',
             'raise', (DAMAGED,)),
    Mutation('damaged-checkpoint-left-in-place', 'a run moves a damaged checkpoint aside',
             'jaxgan/train.py', 'aside = checkpoints.move_aside(bad_step, workdir / '
             'DAMAGED_CHECKPOINTS)', 'pass', (DAMAGED,)),
    Mutation('full-disk-traceback', 'a full disk is one line', 'jaxgan/checkpoint.py',
             'if not _out_of_space(error):', 'if True:',
             ('tests/test_resume.py::test_a_full_disk_ends_in_one_line_and_the_run_resumes_'
              'once_there_is_space',)),
    Mutation('preemption-left-to-each-process', 'SIGTERM to one process stops every process at '
             'the same step', 'jaxgan/train.py', 'self.preemptible = jax.process_count() > 1',
             'self.preemptible = False',
             ('tests/test_parallel.py::test_sigterm_to_one_process_stops_every_process_at_the_'
              'same_step',)),
    Mutation('grain-sampler-order', "Grain serves the batches in jaxgan's order",
             'jaxgan/data.py', 'grain.MapDataset.range(reads).map(',
             'grain.MapDataset.range(reads).shuffle(seed=self.seed).map(', (GRAIN,)),
    Mutation('memmap-shipped-whole', "a cache reaches the loader's workers as its file name",
             'jaxgan/data.py', "('memmap', array.filename) if isinstance(array, np.memmap)",
             "('memmap', array.filename) if False", (GRAIN,)),
    Mutation('implicit-fetch-every-step', 'a step of the loop transfers nothing implicitly',
             'jaxgan/train.py',
             'stopping = max(self.stop.requested(step) for step in range(done - steps + 1, done + 1))',
             'stopping = max(self.stop.requested(step) for step in range(done - steps + 1, done + 1))'
             ' or int(self.state.step) < 0', (NO_TRANSFERS,)),
    Mutation('pmap-batch-implicit', "pmap's batches are sent explicitly",
             'jaxgan/parallel.py', 'for batch in batches], self._stacked)',
             'for batch in batches], self._stacked) if False else [jax.tree.map(lambda rows: '
             'rows.reshape(len(self.local_devices), -1, *rows.shape[1:]), batch) for batch in '
             'batches]', (NO_TRANSFERS,)),
    Mutation('batch-sent-when-needed', 'each batch is sent a step ahead', 'jaxgan/train.py',
             "pending = collections.deque(itertools.islice(items, 1))",
             "pending = collections.deque()", (NO_TRANSFERS,)),
    Mutation('read-steps-reordered', "a read holds its steps' batches in step order",
             'jaxgan/data.py', 'for step in range(first, min(first + self.per_read, self.stop)))',
             'for step in reversed(range(first, min(first + self.per_read, self.stop))))',
             (GRAIN,)),
    Mutation('digits-classes-misread', "the digits' classes are scikit-learn's",
             'jaxgan/data.py', "table[:, -1].astype(int)", "table[:, 0].astype(int)",
             ('tests/test_data.py::test_digits_are_the_real_sklearn_digits',)),
    Mutation('programs-kept-across-configs', "a process's kept programs are its config's",
             'jaxgan/train.py', '(json.dumps(programs_config, sort_keys=True), devices)',
             "('one program for every config', devices)", (PROGRAMS,)),
    Mutation('programs-not-kept', 'a run continued in one process traces its step once',
             'jaxgan/train.py', 'if key in _RECENT_PROGRAMS:', 'if False:', (PROGRAMS,)),
    Mutation('call-spans-a-stage-boundary', 'a call of several steps stops where the loop acts',
             'jaxgan/train.py', 'acting_at(done + step) for step in range(1, steps_per_call))',
             'acting_at(done + step) for step in range(1, steps_per_call - 1))',
             ('tests/test_pggan.py::test_steps_in_calls_of_three_stop_at_each_stage_boundary',)),
    Mutation('call-logs-its-first-step', "a call of several steps returns its last step's "
             'metrics', 'jaxgan/parallel.py', 'jax.tree.map(lambda values: values[-1], metrics)',
             'jax.tree.map(lambda values: values[0], metrics)', (STEPS_PER_CALL,)),
    Mutation('winograd-coefficient', "Winograd's transforms compute the transposed conv",
             'jaxgan/nets/winograd.py', '(0, -1, 3, -2, 0)', '(0, -1, 3, -2.001, 0)', (WINOGRAD,)),
    Mutation('winograd-tiles-not-overlapped', "Winograd's input gradient adds the tiles' overlap",
             'jaxgan/nets/winograd.py', 'return (a, TILE) if a == 0 else (a,)', 'return (a,)',
             (WINOGRAD,)),
    Mutation('winograd-in-bfloat16', 'Winograd computes in float32 whatever the dtype',
             'jaxgan/nets/layers.py', 'padded = jnp.pad(x.astype(jnp.float32)',
             'padded = jnp.pad(x', (WINOGRAD,)),
    Mutation('winograd-for-small-layers', "'auto' keeps the phases for layers of few tiles",
             'jaxgan/nets/layers.py', 'and tiles >= 512', 'and tiles >= 128', (WINOGRAD,)),
    Mutation('winograd-for-narrow-layers', "'auto' keeps the phases for 128 channels both sides",
             'jaxgan/nets/layers.py', 'max(channels) >= 256', 'max(channels) >= 128',
             (WINOGRAD,)),
    # A preset's recipe against its reference's constants and formulas (tests/test_recipes.py)
    # and the metrics against their reference implementations (tests/test_metrics.py).
    Mutation('fid-covariance-biased', "FID's covariance is pytorch-fid's (1/(n-1))",
             'jaxgan/evaluate/metrics.py', 'np.cov(features, rowvar=False)',
             'np.cov(features, rowvar=False, bias=True)', (METRICS,)),
    Mutation('kid-subsets-of-500', "KID's subsets are torch-fidelity's 1,000",
             'jaxgan/evaluate/metrics.py', 'subset_size: int = 1000', 'subset_size: int = 500',
             (METRICS,)),
    Mutation('kid-50-subsets', "KID averages torch-fidelity's 100 subsets",
             'jaxgan/evaluate/metrics.py', 'subsets: int = 100', 'subsets: int = 50', (METRICS,)),
    Mutation('kid-quadratic-kernel', "KID's kernel is cubic", 'jaxgan/evaluate/metrics.py',
             'kernel = lambda a, b: (a @ b.T / d + 1) ** 3',
             'kernel = lambda a, b: (a @ b.T / d + 1) ** 2', (METRICS,)),
    Mutation('precision-recall-k-5', 'precision and recall use k = 3',
             'jaxgan/evaluate/metrics.py', 'def precision_recall(real, fake, k: int = 3)',
             'def precision_recall(real, fake, k: int = 5)', (METRICS,)),
    Mutation('density-coverage-k-3', 'density and coverage use k = 5',
             'jaxgan/evaluate/metrics.py', 'def density_coverage(real, fake, k: int = 5)',
             'def density_coverage(real, fake, k: int = 3)', (METRICS,)),
    Mutation('is-5-splits', "the Inception Score's 10 splits", 'jaxgan/evaluate/metrics.py',
             'splits: int = 10', 'splits: int = 5', (METRICS,)),
    Mutation('modes-within-4-sigma', "a high-quality sample is within 3 standard deviations",
             'jaxgan/evaluate/modes.py', '<= 3 * mixture.std', '<= 4 * mixture.std', (METRICS,)),
    Mutation('modes-count-every-sample', 'a mode counts where a high-quality sample is',
             'jaxgan/evaluate/modes.py', "'modes': int(len(np.unique(nearest[good])))",
             "'modes': int(len(np.unique(nearest)))", (METRICS,)),
    Mutation('modes-kl-of-high-quality-only', 'the reverse KL is of every sample',
             'jaxgan/evaluate/modes.py',
             'histogram = np.bincount(nearest, minlength=len(mixture.centers)) / len(points)',
             'histogram = np.bincount(nearest[good], minlength=len(mixture.centers)) / max('
             'good.sum(), 1)', (METRICS,)),
    Mutation('stacked-kl-reversed', "stacked digits' KL is of the modes against the uniform",
             'jaxgan/evaluate/digits/__init__.py', "'kl': float(np.sum(seen * np.log(seen * 1000)))",
             "'kl': float(np.sum(np.log(1 / (seen * 1000)) / 1000))", (METRICS,)),
    Mutation('stacked-samples-10000', 'the stacked digits are counted on 26,000 samples',
             'jaxgan/evaluate/digits/__init__.py', 'STACKED_SAMPLES = 26_000', 'STACKED_SAMPLES = 10_000',
             (METRICS,)),
    Mutation('lazy-adam-beta2-uncorrected', "Adam's betas are raised to the lazy ratio",
             'jaxgan/games/__init__.py', 'config.adam_b1 ** r, config.adam_b2 ** r,',
             'config.adam_b1 ** r, config.adam_b2,', (RECIPES,)),
    Mutation('lazy-adam-rate-uncorrected', "Adam's rate is scaled by the lazy ratio",
             'jaxgan/games/__init__.py', 'return learning_rate * ratio(interval)',
             'return learning_rate', (RECIPES,)),
    Mutation('lazy-ratio-off-by-one', 'the lazy ratio is interval / (interval + 1)',
             'jaxgan/optim.py', 'return every / (every + 1) if every > 1 else 1.0',
             'return (every - 1) / every if every > 1 else 1.0', (RECIPES,)),
    Mutation('g-uncorrected-without-path-length', "G's Adam is corrected for its interval with "
             'the path length off (cifar)', 'jaxgan/games/__init__.py',
             "interval(g_regularizer, config.pl_every)", "interval(g_regularizer, 1)",
             (RECIPES,)),
    Mutation('r1-without-its-half', "R1 is gamma / 2 times the squared gradient",
             'jaxgan/regularizers.py', 'return 0.5 * weight * jnp.mean(', 'return weight * jnp.mean(',
             (RECIPES,)),
    Mutation('lazy-penalty-unscaled', 'a lazy penalty is scaled by its interval',
             'jaxgan/regularizers.py', 'return every * penalty, new_state',
             'return penalty, new_state', (RECIPES,)),
    Mutation('path-length-unshrunk', 'the path length runs on batch // pl_batch_shrink samples',
             'jaxgan/games/__init__.py', """every=config.pl_every,
                                             batch_shrink=config.pl_batch_shrink)""",
             'every=config.pl_every)', (RECIPES,)),
    Mutation('path-length-decay-0.02', "the path length's mean moves by pl_decay 0.01",
             'jaxgan/regularizers.py', 'decay: float = 0.01', 'decay: float = 0.02', (RECIPES,)),
    Mutation('path-length-directions-unscaled', "the path length's directions are / sqrt(h w)",
             'jaxgan/regularizers.py', '/ math.sqrt(pixels)', '/ math.sqrt(fake.shape[-1])',
             (RECIPES,)),
    Mutation('style-mixing-cutoff-short', "style mixing's cutoff is drawn from [1, num_ws)",
             'jaxgan/nets/stylegan2.py', 'cutoff = jax.random.randint(k_cut, (), 1, num_ws)',
             'cutoff = jax.random.randint(k_cut, (), 1, num_ws - 1)', (RECIPES,)),
    Mutation('style-mixing-per-sample', 'style mixing draws one cutoff for the batch',
             'jaxgan/nets/stylegan2.py', 'cutoff = jax.random.randint(k_cut, (), 1, num_ws)',
             'cutoff = jax.random.randint(k_cut, (z.shape[0], 1, 1), 1, num_ws)', (RECIPES,)),
    Mutation('style-mixing-half-the-time', 'style mixing has probability 0.9',
             'jaxgan/families/stylegan2.py', 'style_mixing=0.9', 'style_mixing=0.5', (RECIPES,)),
    Mutation('ema-ramp-a-step-ahead', "the EMA's ramp counts the images before the step",
             'jaxgan/step.py', 'step.astype(jnp.float32) * batch_size * rampup',
             '(step + 1).astype(jnp.float32) * batch_size * rampup', (RECIPES,)),
    Mutation('ema-decay-of-the-next-step', "the EMA's decay is that of the step's own images",
             'jaxgan/games/adversarial.py',
             'decay = ema_decay(state.step) if callable(ema_decay) else ema_decay',
             'decay = ema_decay(state.step + 1) if callable(ema_decay) else ema_decay', (RECIPES,)),
    Mutation('ada-target-0.5', "ADA's target is 0.6", 'jaxgan/families/common.py',
             'ada_target: float = 0.6', 'ada_target: float = 0.5', (RECIPES,)),
    Mutation('ada-interval-8', 'ADA adjusts p every 4 steps', 'jaxgan/augment.py',
             'target: float = 0.6, interval: int = 4,', 'target: float = 0.6, interval: int = 8,',
             (RECIPES,)),
    Mutation('ada-p-below-zero', "ADA's p stays at least 0", 'jaxgan/augment.py',
             'jnp.maximum(state[\'p\'] + jnp.sign(heuristic - target) * rate, 0.0)',
             'state[\'p\'] + jnp.sign(heuristic - target) * rate', (RECIPES,)),
    Mutation('cifar-without-ada', "stylegan2_cifar trains with the reference's default ADA",
             'jaxgan/families/stylegan2.py', "regularizer_steps=True, augment='ada',",
             "regularizer_steps=True, augment='',", (RECIPES,)),
    Mutation('drift-of-the-mean', "PGGAN's drift term is the mean of D(real)^2",
             'jaxgan/losses.py', 'return loss + drift * jnp.square(real).mean() if drift else loss',
             'return loss + drift * jnp.square(real.mean()) if drift else loss', (RECIPES,)),
    Mutation('drift-0.01', "PGGAN's epsilon_drift is 0.001", 'jaxgan/families/pggan.py',
             "loss='wasserstein', drift=0.001,", "loss='wasserstein', drift=0.01,", (RECIPES,)),
    Mutation('gradient-penalty-target-0', "WGAN-GP's gradient norms aim at 1",
             'jaxgan/regularizers.py', 'weight: float = 10.0, target: float = 1.0',
             'weight: float = 10.0, target: float = 0.0', (RECIPES,)),
    Mutation('wgan-gp-betas', "WGAN-GP's Adam betas are (0, 0.9)", 'jaxgan/families/dcgan.py',
             'adam_b1=0.0,\n                          adam_b2=0.9,',
             'adam_b1=0.5,\n                          adam_b2=0.9,', (RECIPES,)),
    Mutation('label-noise-0.1', "the keras.io example's label noise is 0.05 * U(0, 1)",
             'jaxgan/config.py', 'label_noise: float = 0.05', 'label_noise: float = 0.1',
             (RECIPES,)),
    Mutation('label-noise-on-the-generated-only', 'label noise is added to every label',
             'jaxgan/losses.py',
             'labels = labels + label_noise * jax.random.uniform(key, labels.shape)',
             'labels = labels + label_noise * jax.random.uniform(key, labels.shape) * labels',
             (RECIPES,)),
    Mutation('cycle-identity-weight-unscaled', "CycleGAN's identity term is 0.5 x the cycle's",
             'jaxgan/games/cycle.py', 'identity = identity_weight * cycle_weight * (',
             'identity = identity_weight * (', (RECIPES,)),
    Mutation('cyclegan-preset-cycle-5', "the cyclegan presets' cycle weight is 10",
             'jaxgan/families/cyclegan.py', 'cycle_weight=10.0, identity_weight=0.5,',
             'cycle_weight=5.0, identity_weight=0.5,', (RECIPES,)),
    Mutation('pix2pix-preset-l1-10', "pix2pix's presets weigh the L1 term by 100 (lambda_L1)",
             'jaxgan/families/pix2pix.py', 'l1_weight=100.0))', 'l1_weight=10.0))',
             (PIX2PIX_STEP,)),
    Mutation('diffaugment-translation-quarter', "DiffAugment translates by up to 1/8",
             'jaxgan/augment.py', 'def translation(ratio: float = 0.125)',
             'def translation(ratio: float = 0.25)', (RECIPES,)),
    Mutation('diffaugment-cutout-centred-inside', "DiffAugment's cutout is centred anywhere",
             'jaxgan/augment.py', 'top = jax.random.randint(k_y, (n, 1, 1), 0, h + (1 - size_h % 2))'
             ' - size_h // 2', 'top = jax.random.randint(k_y, (n, 1, 1), 0, h - size_h + 1)',
             (RECIPES,)),
    # Nothing a user types loses their data (tests/test_outputs.py, test_flags.py, ...).
    Mutation('image-16-bit-clipped', 'a 16-bit image is scaled to 8 bits, not clipped to white',
             'jaxgan/data.py', "  if image.mode.startswith('I;16'):", "  if False:",
             ('tests/test_data.py::test_every_image_mode_is_scaled_to_8_bits_not_clipped',)),
    Mutation('float-image-clipped', 'a float image is read from [0, 1]', 'jaxgan/data.py',
             "  elif image.mode == 'F':", "  elif False:",
             ('tests/test_data.py::test_every_image_mode_is_scaled_to_8_bits_not_clipped',)),
    Mutation('old-folder-caches-reused', 'a folder cached by an older reader is read again',
             'jaxgan/data.py', 'digest = hashlib.sha256(FOLDER_CACHE_FORMAT.encode())',
             'digest = hashlib.sha256()',
             ('tests/test_data.py::test_a_folder_cached_by_an_older_reader_is_read_again',)),
    Mutation('translate-writes-over-inputs', 'a tool never writes over its inputs',
             'jaxgan/commands/translate.py',
             "    check_outputs(((target, f'the input {str(path)!r}') for path, target in "
             "targets.items()),\n                  inputs=files)", '    pass', (OUTPUTS,)),
    Mutation('file-written-in-place', 'a file is written whole or not at all',
             'jaxgan/files.py',
             "temporary = path.with_name(f'.{path.stem}.{os.getpid()}.partial{path.suffix}')",
             'temporary = path', (OUTPUTS,)),
    Mutation('outputs-compared-by-spelling', 'an output is the same file under any name',
             'jaxgan/files.py', '  resolved = path.resolve()', '  resolved = path', (OUTPUTS,)),
    Mutation('final-phase-deaf-to-signals', 'a signal after the last step stops the end promptly',
             'jaxgan/train.py', '    self.stopping_after = done  #', '    self.stopping_after = None  #',
             ('tests/test_resume.py::test_a_signal_after_the_last_step_stops_the_run_there_and_'
              'it_finishes_later',)),
    Mutation('generation-in-batches-of-128', "a run's end draws a training batch at a time",
             'jaxgan/train.py', 'self.config.batch_size, between=self.stop_if_asked)',
             '128, between=self.stop_if_asked)',
             ('tests/test_cli.py::test_a_runs_end_stays_in_the_memory_of_its_steps',)),
    Mutation('non-finite-values-accepted', 'a config field must be finite', 'jaxgan/config.py',
             '  if not math.isfinite(value):', '  if False:', (FLAGS,)),
    Mutation('ranges-unchecked', "a config field's range is checked", 'jaxgan/config.py',
             '  if not allowed(value):', '  if False:', (FLAGS,)),
    Mutation('foreign-fields-accepted', "a field the run's family does not read is refused",
             'jaxgan/config.py', '      if field not in SHARED and field not in own and owners:',
             '      if False:', (FLAGS,)),
    Mutation('workdir-inside-dataset', 'a workdir inside the dataset folder is refused',
             'jaxgan/data.py',
             '  if inside == folder.resolve() or folder.resolve() in inside.parents:', '  if False:',
             ('tests/test_cli.py::test_a_workdir_inside_the_dataset_folder_is_refused',)),
    Mutation('init-from-ignored', '--init-from is refused where it would be ignored',
             'jaxgan/train.py', '  if init_from is not None:  # resumed', '  if False:  # resumed',
             ('tests/test_cli.py::test_init_from_is_refused_where_it_would_be_ignored',)),
    Mutation('cyclegan-layout-paired', "pix2pix refuses CycleGAN's unpaired layout",
             'jaxgan/data.py',
             "  if any((folder / f'{split}{side}').is_dir() for split in ('train', 'test') for side "
             "in 'AB'):", '  if False:',
             ('tests/test_cli.py::test_pix2pix_refuses_cyclegans_unpaired_layout',)),
    Mutation('orbax-reads-reported-at-exit', "a failed restore's other reads report nothing",
             'jaxgan/checkpoint.py',
             "    orbax_read = code is not None and f'{os.sep}orbax{os.sep}' in code.co_filename",
             '    orbax_read = False',
             ('tests/test_resume.py::test_unfinished_reads_of_a_damaged_checkpoint_report_'
              'nothing_at_exit',)),
    Mutation('mbstd-groups-unchecked', "a batch the discriminator's groups cannot split is "
             'refused', 'jaxgan/parallel.py', '    if per_device % min(group, per_device):',
             '    if False:',
             ('tests/test_flags.py::test_batches_the_discriminators_groups_cannot_split_are_'
              'refused',)),
    Mutation('import-circle-in-a-function', 'no import circle, imports inside functions counted',
             'jaxgan/data.py', 'def digits_and_classes() -> tuple[np.ndarray, np.ndarray]:',
             'def _circle():\n  from jaxgan import train  # noqa\n\n\n'
             'def digits_and_classes() -> tuple[np.ndarray, np.ndarray]:',
             ('tests/test_imports.py::test_no_import_circle',)),
    Mutation('import-upward', 'the layers import only downward', 'jaxgan/evaluate/metrics.py',
             'import numpy as np\n',
             'import numpy as np\n\nfrom jaxgan.nets import layers  # noqa\n',
             ('tests/test_imports.py::test_layers_import_only_downward',)),
    Mutation('plugins-not-loaded', 'the commands run a family of one\'s own',
             'jaxgan/commands/sample.py',
             "  load_family_plugins(command_name('python -m jaxgan.sample'))\n", '',
             ('tests/test_plugin_family.py::test_the_commands_run_a_family_named_in_jaxgan_'
              'families',)),
    Mutation('register-forgets-the-section', 'a registered family\'s fields are a config\'s',
             'jaxgan/families/registry.py',
             '  config_module.SECTIONS[family.name] = family.section\n',
             "  if family.section.__module__.startswith('jaxgan.'):\n"
             '    config_module.SECTIONS[family.name] = family.section\n',
             ('tests/test_plugin_family.py',)),
    Mutation('former-loss-name-unread', "a workdir of the previous version resumes",
             'jaxgan/config.py', "RENAMED_LOSSES = {'seed_bce': 'keras_bce'}",
             'RENAMED_LOSSES = {}',
             ('tests/test_resume.py::test_a_workdir_of_the_previous_version_resumes',)),
    Mutation('previous-steps-not-todays', "today's first steps are the previous version's",
             'jaxgan/games/adversarial.py', 'k_d, k_g = jax.random.split(key)',
             'k_g, k_d = jax.random.split(key)',
             ('tests/test_resume.py::test_a_workdir_of_the_previous_version_resumes',)),
    Mutation('r2-on-real-samples', "R2 is the penalty at the generated samples",
             'jaxgan/regularizers.py', "return zero_centred(gamma, 'fake', every)",
             "return zero_centred(gamma, 'real', every)", (R3GAN,)),
    Mutation('relativistic-generator-as-critic', "the generator's relativistic loss mirrors D's",
             'jaxgan/losses.py', 'generator=lambda fake, key, real: jax.nn.softplus(real - fake)',
             'generator=lambda fake, key, real: jax.nn.softplus(fake - real)', (R3GAN,)),
    Mutation('pairs-generator-on-the-critics-batch',
             "a loss of pairs gives the generator a real batch of its own",
             'jaxgan/games/adversarial.py',
             'state, g_metrics = generator_update(play, state, k_g, n, rows, real[rules.n_critic])',
             'state, g_metrics = generator_update(play, state, k_g, n, rows, real[0])', (R3GAN,)),
    Mutation('r3gan-lowpass-without-hold', "R3GAN resamples with [1, 2, 1] after the hold",
             'jaxgan/nets/r3gan.py', '  return tuple(out)\n',
             '  return tuple(float(tap) for tap in taps)\n', (R3GAN,)),
    Mutation('r3gan-slope', "R3GAN's leaky ReLU has slope 0.2", 'jaxgan/nets/r3gan.py',
             'LRELU_SLOPE = 0.2', 'LRELU_SLOPE = 0.1', (R3GAN,)),
    Mutation('r3gan-fix-up-exponent', "the fix-up scales by L^(-1/4)", 'jaxgan/nets/r3gan.py',
             'self.blocks ** (-1 / (2 * LINEAR_LAYERS_PER_BLOCK - 2))', 'self.blocks ** -0.5',
             (R3GAN,)),
    Mutation('r3gan-embedding-gain', "the critic's label embedding has gain 1 / sqrt(E)",
             'jaxgan/nets/r3gan.py', '1 / math.sqrt(self.embedding),', '1.0,', (R3GAN,)),
    Mutation('r3gan-critic-not-reversed', "R3GAN's critic has the generator's stages reversed",
             'jaxgan/families/r3gan.py',
             'config.widths[::-1], config.cardinalities[::-1], config.blocks[::-1],',
             'config.widths, config.cardinalities, config.blocks,', (R3GAN,)),
    Mutation('r3gan-beta2-constant', "R3GAN's Adam beta2 follows its schedule",
             'jaxgan/families/r3gan.py', 'b2=schedule(config.adam_b2, config.b2_final)',
             'b2=config.adam_b2', (R3GAN,)),
    Mutation('r3gan-gamma-constant', "R3GAN's gamma follows its schedule",
             'jaxgan/families/r3gan.py', 'gamma = schedule(config.gamma, config.gamma_final)',
             'gamma = config.gamma', (R3GAN,)),
    Mutation('r3gan-ema-half-life-constant', "R3GAN's EMA half-life follows its schedule",
             'jaxgan/families/r3gan.py',
             'half_life = cosine_schedule(0.0, kimg * 1000.0, decay_kimg, batch_size)',
             'half_life = lambda step: kimg * 1000.0', (R3GAN,)),
    Mutation('scheduled-augmentation-a-step-late', "the augmentation's p is the coming step's",
             'jaxgan/augment.py', "{'p': jnp.asarray(probability(step + 1), jnp.float32)}",
             "{'p': jnp.asarray(probability(step), jnp.float32)}", (R3GAN,)),
    Mutation('cutout-everywhere', "cutout zeroes a square of half the side",
             'jaxgan/ada.py', 'CUTOUT_SIZE = 0.5', 'CUTOUT_SIZE = 0.25', (R3GAN,)),
    Mutation('colour-multipliers-ignored', "R3GAN's colour transformations apply at p / 2",
             'jaxgan/ada.py', "chosen = lambda name: choice(p * enabled[name])",
             "chosen = lambda name: choice(p)", (R3GAN,)),
    Mutation('grouped-dense-off-diagonal', "the block-diagonal grouped convolution",
             'jaxgan/nets/r3gan.py', "jnp.eye(groups, dtype=weight.dtype)",
             "jnp.ones((groups, groups), weight.dtype)", (R3GAN,)),
    Mutation('r3gan-grouped-as-dense', "R3GAN's middle convolution is grouped",
             'jaxgan/nets/r3gan.py', 'Convolution(expanded, self.kernel, self.cardinality, gain,',
             'Convolution(expanded, self.kernel, 1, gain,', (R3GAN,)),
]


def run(mutation: Mutation, scratch: Path) -> str:
  path = scratch / mutation.path
  original = path.read_text()
  if original.count(mutation.old) != 1:
    return 'not applied (its text is not in the code once)'
  path.write_text(original.replace(mutation.old, mutation.new))
  try:
    start = time.perf_counter()
    result = subprocess.run([sys.executable, '-m', 'pytest', '-q', '-x', '-n', '0', '-p',
                             'no:cacheprovider', *mutation.tests], cwd=scratch,
                            capture_output=True, text=True)
    seconds = time.perf_counter() - start
    failed = [line.split()[1] for line in result.stdout.splitlines()
              if line.startswith('FAILED')]
    if result.returncode == 0:
      return f'NOT CAUGHT ({seconds:.0f} s)'
    if not failed:  # the tests did not even run: say why rather than count it as caught
      return f'tests did not run: {(result.stdout + result.stderr).strip()[-300:]}'
    return f'caught by {", ".join(failed)} ({seconds:.0f} s)'
  finally:
    path.write_text(original)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--only', nargs='+', metavar='NAME', help='run only these mutations')
  parser.add_argument('--list', action='store_true', help='list the mutations and exit')
  args = parser.parse_args()
  chosen = [m for m in MUTATIONS if not args.only or m.name in args.only]
  if args.list or not chosen:
    for m in MUTATIONS:
      print(f'{m.name}: {m.claim}')
    return 0 if chosen else 2
  with tempfile.TemporaryDirectory() as scratch:
    scratch = Path(scratch) / 'jaxgan'
    shutil.copytree(ROOT, scratch, ignore=shutil.ignore_patterns('.git', '.venv', 'runs',
                                                                 '__pycache__'))
    missed = 0
    for mutation in chosen:
      outcome = run(mutation, scratch)
      missed += not outcome.startswith('caught')
      print(f'{mutation.name} ({mutation.claim}): {outcome}', flush=True)
  return 1 if missed else 0


if __name__ == '__main__':
  sys.exit(main())
