"""Sample PNGs: image grids, and scatter plots for 2-D samples. Each file is written whole or
not at all (`jaxgan.files.written`)."""

from pathlib import Path

import numpy as np
from PIL import Image

from jaxgan.files import written


def to_uint8(images: np.ndarray, value_range: tuple[float, float] = (0.0, 1.0)) -> np.ndarray:
  lo, hi = value_range
  scaled = (np.asarray(images, np.float32) - lo) / (hi - lo)
  return np.clip(np.round(scaled * 255.0), 0, 255).astype(np.uint8)


def grid(images: np.ndarray, columns: int) -> np.ndarray:
  """uint8 `(n, h, w, c)` -> one `(rows*h, columns*w, c)` mosaic with 1-pixel gaps."""
  n, h, w, c = images.shape
  rows = -(-n // columns)
  canvas = np.zeros((rows * (h + 1) - 1, columns * (w + 1) - 1, c), np.uint8)
  for i, image in enumerate(images):
    r, col = divmod(i, columns)
    canvas[r * (h + 1):r * (h + 1) + h, col * (w + 1):col * (w + 1) + w] = image
  return canvas


def save_image(image: np.ndarray, path: Path) -> None:
  """Writes one uint8 image `(h, w, c)`, c 1 or 3, in the format of `path`'s suffix."""
  with written(path) as temporary:
    Image.fromarray(image[..., 0] if image.shape[-1] == 1 else image).save(temporary)


def save_grid(images: np.ndarray, path: Path, columns: int, min_side: int = 256) -> None:
  """Writes a PNG mosaic, enlarged (nearest neighbour) to at least `min_side` pixels wide."""
  mosaic = grid(images, columns)
  scale = max(1, -(-min_side // mosaic.shape[1]))
  picture = Image.fromarray(mosaic[..., 0] if mosaic.shape[-1] == 1 else mosaic)
  if scale > 1:
    picture = picture.resize((picture.width * scale, picture.height * scale),
                             Image.Resampling.NEAREST)
  with written(path) as temporary:
    picture.save(temporary)


def save_scatter(points: np.ndarray, path: Path, reference: np.ndarray | None = None,
                 side: int = 400) -> None:
  """Writes 2-D `points` (white) over the `reference` points (red: e.g. a mixture's modes) as a
  square PNG framed around the reference (else the points), with a margin."""
  frame = points if reference is None else reference
  lo, hi = frame.min(axis=0), frame.max(axis=0)
  margin = 0.25 * max(hi - lo) + 0.1
  lo, span = lo - margin, max(hi - lo) + 2 * margin
  canvas = np.zeros((side, side, 3), np.uint8)

  def pixels(xy):
    ij = np.round((np.asarray(xy) - lo) / span * (side - 1)).astype(int)
    inside = np.all((ij >= 0) & (ij < side), axis=1)
    return (side - 1 - ij[inside, 1]), ij[inside, 0]  # y up

  canvas[pixels(points)] = 255
  for dy in (-2, -1, 0, 1, 2) if reference is not None else ():
    rows, cols = pixels(reference)
    canvas[np.clip(rows + dy, 0, side - 1), cols] = (255, 0, 0)
    canvas[rows, np.clip(cols + dy, 0, side - 1)] = (255, 0, 0)
  with written(path) as temporary:
    Image.fromarray(canvas).save(temporary)
