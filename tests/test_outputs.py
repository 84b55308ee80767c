"""No tool writes over its inputs or over another of its outputs, and no file is left half
written: output paths are checked before anything is written, and every file goes in whole
(`jaxgan.files`)."""

import hashlib

import numpy as np
import pytest
from PIL import Image

from jaxgan import files
from jaxgan import translate as jaxgan_translate
from jaxgan.commands import evaluate as evaluate_command
from jaxgan.commands import sample as sample_command
from jaxgan.commands import translate as translate_command
from runs import main_in_process


def _images(folder, names):
  rng = np.random.default_rng(0)
  for name in names:
    (folder / name).parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(rng.integers(0, 256, (8, 8, 3), dtype=np.uint8)).save(folder / name)


def _digests(folder):
  return {path.relative_to(folder): hashlib.sha256(path.read_bytes()).hexdigest()
          for path in sorted(folder.rglob('*')) if path.is_file()}


def test_translate_never_writes_over_its_inputs_or_one_output_over_another(tmp_path, capsys):
  """--out equal to --input, or a folder whose a.jpg and a.png would both become a.png: one
  line naming both, exit 2, and every input as it was; --keep-suffix names them apart. (The
  check comes before the run is read: here there is none.)"""
  inputs = tmp_path / 'in'
  _images(inputs, ['a.png', 'a.jpg', 'b.webp', 'sub/c.png'])
  before = _digests(inputs)
  run = lambda *flags: main_in_process(capsys, '--workdir', str(tmp_path / 'no-run'),
                                       '--input', str(inputs), *flags, main=translate_command.main)
  for flags, message in ((('--out', str(inputs)), "over the input '"),
                         (('--out', str(tmp_path / 'out')), 'over the output of the input'),
                         (('--out', str(inputs), '--keep-suffix'), None)):
    code, _, err = run(*flags)
    assert code == 2 and err.count('\n') == 1, err
    if message:
      assert message in err and 'nothing was written' in err, err
    assert _digests(inputs) == before
  # With the outputs apart, the command goes on to read the run (here: none, one line).
  code, _, err = run('--out', str(tmp_path / 'out'), '--keep-suffix')
  assert code == 2 and 'no checkpoints' in err and not (tmp_path / 'out').exists(), err
  assert jaxgan_translate.output_path(tmp_path, inputs.relative_to(tmp_path) / 'a.jpg', True).name \
      == 'a.jpg.png'


def test_a_file_is_written_whole_or_not_at_all(tmp_path):
  """A writer that fails (or is interrupted) halfway leaves the old file as it was and no
  temporary file behind; one that succeeds replaces it."""
  path = tmp_path / 'grid.png'
  path.write_bytes(b'the old file')
  with pytest.raises(KeyboardInterrupt):
    with files.written(path) as temporary:
      temporary.write_bytes(b'half of the n')
      raise KeyboardInterrupt
  assert path.read_bytes() == b'the old file' and sorted(tmp_path.iterdir()) == [path]
  with files.written(path) as temporary:
    assert temporary.suffix == '.png' and temporary.parent == tmp_path
    temporary.write_bytes(b'the new file')
  assert path.read_bytes() == b'the new file' and sorted(tmp_path.iterdir()) == [path]


def test_check_outputs_knows_a_file_by_any_of_its_names(tmp_path):
  (tmp_path / 'x.npy').write_bytes(b'latents')
  (tmp_path / 'link.npy').symlink_to(tmp_path / 'x.npy')
  (tmp_path / 'hard.npy').hardlink_to(tmp_path / 'x.npy')
  for name in ('x.npy', 'link.npy', 'hard.npy', 'sub/../x.npy'):
    with pytest.raises(files.OutputCollision, match="over the input"):
      files.check_outputs([(tmp_path / name, '--out')], inputs=[tmp_path / 'x.npy'])
  with pytest.raises(files.OutputCollision, match='over the output of a'):
    files.check_outputs([(tmp_path / 'o.png', 'a'), (tmp_path / 'o.png', 'b')])
  files.check_outputs([(tmp_path / 'o.png', 'a'), (tmp_path / 'p.png', 'b')],
                      inputs=[tmp_path / 'x.npy'])


def test_sample_and_evaluate_refuse_to_write_over_their_inputs(tmp_path, capsys):
  latents = tmp_path / 'z.npy'
  np.save(latents, np.zeros((2, 4), np.float32))
  before = latents.read_bytes()
  code, _, err = main_in_process(capsys, '--workdir', str(tmp_path), '--latents', str(latents),
                                 '--out', str(latents), main=sample_command.main)
  assert code == 2 and err.count('\n') == 1 and 'over the input' in err, err
  real = tmp_path / 'real.npy'
  np.save(real, np.zeros((8, 8, 8, 3), np.uint8))
  for json_out, message in ((real, 'over the input'),
                            (tmp_path / 'missing' / 'r.json', 'does not exist')):
    code, _, err = main_in_process(capsys, '--real', str(real), '--fake', str(real), '--json',
                                   str(json_out), main=evaluate_command.main)
    assert code == 2 and err.count('\n') == 1 and message in err, err
  assert latents.read_bytes() == before and np.load(real).shape == (8, 8, 8, 3)


@pytest.mark.slow
def test_interrupting_sample_leaves_whole_files_and_one_line(uninterrupted, tmp_path, capsys,
                                                            monkeypatch):
  """Ctrl-C while `jaxgan-sample` writes a folder of PNGs: exit 130, one line, and every file
  in the folder a whole PNG (the one being written when the interrupt came is not there)."""
  from jaxgan import images
  save, calls = images.Image.Image.save, []

  def interrupted_save(picture, path, *args, **kwargs):
    calls.append(path)
    if len(calls) == 4:  # the interrupt comes while the fourth image is being written
      with open(path, 'wb') as half:
        half.write(b'\x89PNG half')
      raise KeyboardInterrupt
    return save(picture, path, *args, **kwargs)
  monkeypatch.setattr(images.Image.Image, 'save', interrupted_save)
  out = tmp_path / 'dataset'
  code, _, err = main_in_process(capsys, '--workdir', str(uninterrupted), '--num', '10', '--out',
                                 f'{out}/', main=sample_command.main)
  assert code == 130 and err.count('\n') == 1 and 'interrupted' in err, err
  written = sorted(out.iterdir())
  assert [path.name for path in written] == ['00000.png', '00001.png', '00002.png']
  for path in written:
    with Image.open(path) as image:
      image.load()
