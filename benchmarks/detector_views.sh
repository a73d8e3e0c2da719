#!/usr/bin/env bash
# The detection stage chosen on the TRAIN photos, in every view (issue: detection for any frame and face
# size). Each line: one detector setting x one view, a scene-bench record in results/benchmarks/views/.
#   bash benchmarks/detector_views.sh train      # choose
#   bash benchmarks/detector_views.sh test       # report once, with the chosen settings
set -euo pipefail
split=${1:-train}
src=${SOURCE:-../shared/data/fmd853}
out=results/benchmarks/views
mkdir -p "$out"
run() {  # name view extra-args...
  local name=$1 view=$2; shift 2
  [ -f "$out/${split}-${name}-${view}.json" ] && return 0
  lrfp scene-bench --source "$src" --data demo/fmd853-lr --split "$split" --model prod-mobilenet_v2 \
    --view "$view" --no-progress --out "$out/${split}-${name}-${view}.json" "$@" | sed -n "1s/^/${name} ${view}: /p"
}
# old-3x-2048: the single look of the first releases; adaptive: the adaptive stage with RetinaFace (the
# default until CenterFace was measured); centerface: the adaptive stage with CenterFace (the default:
# 1x at 0.5, then 2x at 0.35); centerface-ask0.3: its enlarged look asking 0.3; centerface-enl3-ask0.3:
# also enlarging 3x (the last two are measured in the 1x and tiled-3x3 views; ALTERNATIVES=1 runs them)
for view in ${VIEWS:-1x enlarged-2 tiled-3x3 enlarged-3 tiled-2x2}; do
  run old-3x-2048 "$view" --detector retinaface --detector-scale 3 --detector-max-side 2048
  run adaptive "$view" --detector retinaface
  run centerface "$view" --detector centerface
  if [ -n "${ALTERNATIVES:-}" ]; then
    run centerface-ask0.3 "$view" --detector centerface --enlarged-min-score 0.3
    run centerface-enl3-ask0.3 "$view" --detector centerface --enlarge 3 --enlarged-min-score 0.3
  fi
  if [ -n "${EXTRA:-}" ]; then run adaptive-enl0.7 "$view" --detector retinaface --enlarged-min-score 0.7; fi
done
