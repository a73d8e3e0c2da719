#!/usr/bin/env bash
# The paper's 30 configurations plus MobileNetV2 at their TRUE input sizes (224 px, model3 64 px)
# on one CUDA GPU, in one go; the run records come back as one archive.
#
# Prepared here, run on a GPU machine with a copy of this repository (e.g. the device tool):
#   data:  the shipped demo/fmd853-lr is the default build (same fingerprint); DATA=data/fmd853-lr
#          for a local build (lrfp data build --source ../shared/data/fmd853 --out data/fmd853-lr)
#   carry: .cache/torch-hub (mkdir -p .cache/torch-hub && cp -r ../shared/torch-hub/* .cache/torch-hub/)
#   run:   bash benchmarks/true_size_reproduction.sh
# Then, back here: tar -xzf true-size-records.tar.gz -C results/runs && lrfp report
#
# Each 224 px configuration gets its own run id (…-224px-s0), beside the 64 px CPU rows.
# VGG-16, ResNet18 and AlexNet train from scratch (marked): no ImageNet weights can be had offline.
# The archive is rewritten every 20 s while the runs go on, so a machine taken back mid-way still
# returns every milestone written so far (reproduce publishes a record at each milestone).
set -euo pipefail
OUT=${OUT:-$PWD/true-size-out}
DATA=${DATA:-demo/fmd853-lr}
mkdir -p "$OUT"
python -c "import torch; assert torch.cuda.is_available(), 'no CUDA GPU'; print(torch.cuda.get_device_name(0))"
# the GPU machine has torch; lrfp itself installs without touching it
python -m pip install --quiet --no-deps -e . 2>&1 | tail -1 || true
export TORCH_HOME=${TORCH_HOME:-.cache/torch-hub} PYTHONUNBUFFERED=1
pack() {  # only the true-size records, replaced atomically
  (cd results/runs && ls ./*-224px-*.json >/dev/null 2>&1 && tar -czf "$OUT/.records.tmp" ./*-224px-*.json \
    && mv "$OUT/.records.tmp" "$OUT/true-size-records.tar.gz") || true
}
(while sleep 20; do pack; done) &
packer=$!
trap 'kill $packer 2>/dev/null; pack' EXIT
start=$(date +%s)
# every 224 px configuration; model3's paper size is 64 px, which the CPU already ran (skipped as finished)
python -m lrfp.cli reproduce --device cuda --data "$DATA" --out runs/true-size --no-progress \
  2>&1 | tee "$OUT/reproduce.log"
echo "wall time: $(( $(date +%s) - start )) s" | tee -a "$OUT/reproduce.log"
if [ -z "${SKIP_SPEED:-}" ]; then
  python benchmarks/train_speed.py --data "$DATA" --device cuda --epochs 2 2>&1 | tee "$OUT/train_speed.txt"
fi
