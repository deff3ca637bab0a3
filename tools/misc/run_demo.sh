#!/usr/bin/env bash
# The demo job: pre-train a tiny MAE on data/demo/train on the CPU, then save
# reconstructions of the held-out data/demo/val images and the loss curve.
#
#   bash tools/misc/run_demo.sh [TRAIN_ARGS...]    (after `make demo-data`)
#
# TRAIN_ARGS go to tools/train.py, e.g. a quick smoke run:
#   bash tools/misc/run_demo.sh --cfg-options train_cfg.max_iters=20
#
# Environment: PYTHON (default .venv/bin/python, else python),
# WORK_DIR (default work_dirs/demo), CONFIG (default the demo config).
set -euo pipefail

cd "$(dirname "$0")/../.."
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
CONFIG=${CONFIG:-configs/mae/mae_vit-tiny-p8_1xb32-coslr-demo.py}
WORK_DIR=${WORK_DIR:-work_dirs/demo}
VAL_DIR=data/demo/val
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

if [[ ! -d "$VAL_DIR" ]]; then
    echo "[demo] $VAL_DIR is missing; run 'make demo-data' first" >&2
    exit 1
fi

start=$(date +%s)
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
train_s=$(( $(date +%s) - start ))

# The checkpoint of the run that just finished, and its JSON log.
# last_checkpoint is relative to the work dir (absolute if elsewhere).
CKPT=$(cat "$WORK_DIR/last_checkpoint")
case "$CKPT" in /*) ;; *) CKPT="$WORK_DIR/$CKPT" ;; esac
RUN_DIR=$(ls -td "$WORK_DIR"/[0-9]*_[0-9]*/ | head -n 1)
RUN_DIR=${RUN_DIR%/}
JSON_LOG="$RUN_DIR/vis_data/$(basename "$RUN_DIR").json"

"$PYTHON" tools/visualization/vis_reconstruction.py "$CONFIG" "$CKPT" \
    --img "$VAL_DIR" --out-dir "$WORK_DIR/vis_reconstruction" --seed 0
"$PYTHON" tools/analysis_tools/analyze_logs.py plot_curve "$JSON_LOG" \
    --keys loss --window-size 5 --title 'MAE demo: training loss' \
    --out "$WORK_DIR/loss_curve.png"

cat <<MSG

[demo] trained in ${train_s} s; checkpoint: $CKPT
[demo] reconstructions of $VAL_DIR:  $WORK_DIR/vis_reconstruction/reconstructions.png
[demo]   (one PNG per image next to it; during training: $WORK_DIR/reconstructions/)
[demo] loss curve:                   $WORK_DIR/loss_curve.png
[demo] log:                          $JSON_LOG
MSG
