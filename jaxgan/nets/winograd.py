"""Winograd's minimal filtering F(4x4, 2x2): the transforms, for the phases of a transposed conv.

A stride-2 transposed convolution with a 4x4 kernel is four 2x2-window stride-1 convolutions,
one per output phase (`layers.conv_transpose_by_phases`). Winograd's algorithm (Lavin & Gray,
"Fast Algorithms for Convolutional Neural Networks", CVPR 2016) computes a 4x4 tile of such a
convolution from a 5x5 tile of its input with 25 multiplications per channel pair instead of 64:

    Y = A^T [(G g G^T) * (B^T d B)] A

With the input tiles' and the kernels' 25 "points" laid out as matrices over channels, the
pointwise product is 25 matrix products of `in` by `out` channels: on a 32x32 input, 37% of the
multiplications of the phases' direct convolution (which computes 33x33 outputs per phase and
keeps 32x32). This module holds the three linear maps:
`input_points` (B^T d B for every tile of every phase), `kernel_points` (G g G^T) and
`output_from_points` (A^T m A, the phases interleaved into the image). The two data transforms
have their VJPs written out: autodiff's transposes of their strided slices and stacks ran up to
30 times slower on XLA:CPU (the output transform's, on `dcgan64`'s batch-8 layer: 3.6 s, 0.1 s
written out).

The matrices are Toom-Cook's for the points 0, 1, -1, 1/2 and infinity, with B^T's rows scaled
(and G's divided to match) so the data transforms multiply by small integers and halves only.
"""

import functools

import jax
import jax.numpy as jnp
from jax import lax

TILE = 4  # output rows and columns per tile
POINTS = 5  # input rows and columns per tile: TILE + 2 - 1, overlapping the next tile by one

A_T = ((1, 1, 1, 1, 0),
       (0, 1, -1, 1 / 2, 0),
       (0, 1, 1, 1 / 4, 0),
       (0, 1, -1, 1 / 8, 1))
G = ((1, 0),
     (1 / 2, 1 / 2),
     (1 / 6, -1 / 6),
     (8 / 3, 4 / 3),
     (0, 1))
B_T = ((1, -2, -1, 2, 0),
       (0, -1, 1, 2, 0),
       (0, -1, 3, -2, 0),
       (0, 1, 0, -1, 0),
       (0, 1 / 2, -1, -1 / 2, 1))


def _transpose(matrix):
  return tuple(zip(*matrix))


def _combine(matrix, parts):
  """`[sum_k matrix[i][k] * parts[k] for every row i]`, without the zero terms."""
  rows = []
  for row in matrix:
    terms = [p if c == 1 else -p if c == -1 else c * p for c, p in zip(row, parts) if c != 0]
    rows.append(functools.reduce(jnp.add, terms))
  return rows


@functools.partial(jax.custom_vjp, nondiff_argnums=(1, 2))
def input_points(x, shifts, tiles):
  """`[s, s, 5, 5, n, tiles_h, tiles_w, c]`: B^T d B for each phase's 5x5 input tiles.

  Phase `(p, q)` reads its tile `(i, j)` from rows `shifts[p] + 4i` to `shifts[p] + 4i + 4` and
  columns `shifts[q] + 4j` to `shifts[q] + 4j + 4` of `x` (padded so every tile fits). The row transform is kept in memory between the two passes
  (an `optimization_barrier`): fused into one pass, one phase of `dcgan64`'s batch-8 layer took
  6.3 ms against 3.4.
  """
  tiles_h, tiles_w = tiles
  last_h, last_w = TILE * (tiles_h - 1) + 1, TILE * (tiles_w - 1) + 1
  phases = []
  for row_shift in shifts:
    rows = lax.optimization_barrier(jnp.stack(_combine(
        B_T, [x[:, row_shift + a:row_shift + a + last_h:TILE] for a in range(POINTS)])))
    phases.append(jnp.stack([
        jnp.stack([jnp.stack(_combine(B_T, [
            rows[alpha, :, :, col_shift + b:col_shift + b + last_w:TILE] for b in range(POINTS)]))
                   for alpha in range(POINTS)]) for col_shift in shifts]))
  return jnp.stack(phases)


def _input_points_fwd(x, shifts, tiles):
  return input_points(x, shifts, tiles), x.shape


def _landing(a):
  """The points of a tile that land on row (column) `a` of its 4x4 block: `a`, and for 0 the
  previous tile's point 4."""
  return (a, TILE) if a == 0 else (a,)


def _input_points_bwd(shifts, tiles, shape, d_points):
  """Each tile's cotangent taken back through B (B d_points B^T), then added where the tile was
  read: tiles overlap by one row and column, so point 4 of a tile lands on point 0 of the next."""
  (tiles_h, tiles_w), (n, h, w, c) = tiles, shape
  d_x = jnp.zeros(shape, d_points.dtype)
  for p, row_shift in enumerate(shifts):
    rows = lax.optimization_barrier(jnp.stack(_combine(
        _transpose(B_T), [d_points[p, :, alpha] for alpha in range(POINTS)])))  # [a, q, beta, ...]
    for q, col_shift in enumerate(shifts):
      d_tile = [_combine(_transpose(B_T), [rows[a, q, beta] for beta in range(POINTS)])
                for a in range(POINTS)]  # d_tile[a][b]: [n, tiles_h, tiles_w, c]

      def on_grid(a, b):  # point (a, b) of every tile, on a grid one tile larger, point 4 moved on
        return jnp.pad(d_tile[a][b], ((0, 0), (a // TILE, 1 - a // TILE),
                                      (b // TILE, 1 - b // TILE), (0, 0)))

      blocks = [[functools.reduce(jnp.add, [on_grid(a_, b_) for a_ in _landing(a)
                                            for b_ in _landing(b)])
                 for b in range(TILE)] for a in range(TILE)]
      image = jnp.stack([jnp.stack(row, 3) for row in blocks], 2)
      image = image.reshape(n, TILE * (tiles_h + 1), TILE * (tiles_w + 1), c)
      d_x = d_x + lax.pad(image, jnp.zeros((), image.dtype), (
          (0, 0, 0), (row_shift, h - row_shift - image.shape[1], 0),
          (col_shift, w - col_shift - image.shape[2], 0), (0, 0, 0)))
  return (d_x,)


input_points.defvjp(_input_points_fwd, _input_points_bwd)


def kernel_points(kernels):
  """`[s, s, 5, 5, in, out]`: G g G^T of each phase's 2x2 kernel `[s, s, 2, 2, in, out]`."""
  by_row = jnp.stack(_combine(G, [kernels[:, :, i] for i in range(2)]), 2)
  return jnp.stack(_combine(G, [by_row[:, :, :, j] for j in range(2)]), 3)


@jax.custom_vjp
def output_from_points(points):
  """The image `[n, 4 s tiles_h, 4 s tiles_w, out]` from the products `[s, s, 5, 5, n,
  tiles_h, tiles_w, out]`: A^T m A for each tile, phase `(p, q)`'s tile `(i, j)` at rows
  `s (4i + u) + p` and columns `s (4j + v) + q`."""
  s, n, tiles_h, tiles_w, features = points.shape[0], *points.shape[4:]
  rows = lax.optimization_barrier(
      jnp.stack(_combine(A_T, [points[:, :, a] for a in range(POINTS)])))
  image = jnp.stack([jnp.stack([jnp.stack([
      jnp.stack(_combine(A_T, [rows[u, p, q, b] for b in range(POINTS)]), 3)
      for q in range(s)], 4) for p in range(s)], 2) for u in range(TILE)], 2)  # [n,i,u,p,j,v,q,f]
  return image.reshape(n, tiles_h * TILE * s, tiles_w * TILE * s, features)


def _output_from_points_fwd(points):
  return output_from_points(points), points.shape


def _output_from_points_bwd(shape, d_image):
  """The cotangent's tiles, phases first (one transpose), then taken through A, one axis at a
  time: 96 ms on `dcgan64`'s batch-8 layer, where the same map fused into one pass took 144."""
  s, _, _, _, n, tiles_h, tiles_w, features = shape
  d = d_image.reshape(n, tiles_h, TILE, s, tiles_w, TILE, s, features)
  d = lax.optimization_barrier(d.transpose(3, 6, 2, 5, 0, 1, 4, 7))  # [p, q, u, v, n, i, j, f]
  rows = lax.optimization_barrier(
      jnp.stack(_combine(_transpose(A_T), [d[:, :, u] for u in range(TILE)]), 2))
  return (jnp.stack(_combine(_transpose(A_T), [rows[:, :, :, v] for v in range(TILE)]), 3),)


output_from_points.defvjp(_output_from_points_fwd, _output_from_points_bwd)
