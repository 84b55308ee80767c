#!/usr/bin/env bash
# The README's benchmarks on an accelerator, in one go, each part in a time limit of its own so
# that one part's failure leaves the others' figures:
#
#   bash benchmarks/accelerator.sh [OUT_DIR]   (default benchmarks/results/accelerator)
#
# 1. versions.txt: the device, the driver and the packages;
# 2. dcgan/: throughput.py's three DCGAN cases, float32 and bfloat16, jaxgan against PyTorch
#    (Keras too where TensorFlow is installed), 4 rounds of 50 steps: a step is milliseconds;
# 3. loop_cost.json: the loop's own cost per step (loop_cost.py), one step a call and 8 steps a
#    call (--steps-per-call 8), and loop_parts.txt, the host time of each of its parts;
# 4. families/CASE/: every family's step (throughput.py), one process per case, pix2pix and
#    CycleGAN against their PyTorch peers, the others jaxgan alone; the reference's StyleGAN2
#    CIFAR-10 configuration last.
# Each part's output goes to OUT_DIR/PART.txt; the tables are printed at the end. With
# DEADLINE=SECONDS, no part runs past that many seconds from the start (a lease's limit).
set -u
cd "$(dirname "$0")/.."
out=${1:-benchmarks/results/accelerator}
mkdir -p "$out"
# The benchmark's processes share one device: each takes memory as it needs it, not 75% upfront.
export XLA_PYTHON_CLIENT_PREALLOCATE=false PYTHONUNBUFFERED=1

part() {  # NAME SECONDS COMMAND...: runs COMMAND within SECONDS, output to OUT_DIR/NAME.txt
  local name=$1 limit=$2 start=$SECONDS
  shift 2
  if [[ -n ${DEADLINE:-} ]] && (( DEADLINE - SECONDS < limit )); then
    limit=$((DEADLINE - SECONDS))
    if (( limit < 20 )); then echo "== $name: skipped, the deadline is near"; return; fi
  fi
  timeout "$limit" "$@" > "$out/$name.txt" 2>&1
  echo "== $name: exit $? in $((SECONDS - start)) s"
}

{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>/dev/null
  python3 - <<'EOF'
import importlib.metadata as metadata, platform
import jax
print('python', platform.python_version(), '|', jax.devices())
for name in ('jax', 'jaxlib', 'flax', 'optax', 'orbax-checkpoint', 'grain', 'numpy', 'torch'):
  try:
    print(name, metadata.version(name))
  except metadata.PackageNotFoundError:
    print(name, 'not installed')
EOF
} > "$out/versions.txt" 2>&1
cat "$out/versions.txt"

part dcgan 200 python3 benchmarks/throughput.py --frameworks jaxgan,keras,torch --rounds 4 \
  --steps 50 --peak-size 8192 --out "$out/dcgan"
part loop_cost 120 python3 benchmarks/loop_cost.py --presets mlp2d,digits,pggan --steps 100 \
  --rounds 3 --out "$out/loop_cost.json"
part loop_cost_calls 120 python3 benchmarks/loop_cost.py --presets mlp2d,digits,pggan \
  --steps 100 --rounds 3 --steps-per-call 8 --out "$out/loop_cost_steps_per_call_8.json"
part loop_parts 30 python3 benchmarks/loop_cost.py --parts --presets mlp2d --repeats 4000
for case in stylegan2:32 cyclegan:16 pix2pix:32 pggan:64@2 digits:64 conditional:64 \
    stylegan2_cifar:64; do
  part "family_${case//[:@]/_}" 150 python3 benchmarks/throughput.py --cases "$case" \
    --frameworks jaxgan,torch --dtypes float32 --rounds 2 --steps 16 --peak-size 8192 \
    --out "$out/families/${case//[:@]/_}"
done

for file in "$out"/*.txt; do
  echo "== $file"
  grep -v '^\s*$' "$file" | tail -n 16
done
