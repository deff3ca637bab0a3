#!/usr/bin/env bash
# Create .venv and install mmmim with its pinned OpenMMLab stack.
#
# Idempotent: a stamp file records a hash of the requirement files, so a
# second run on the same machine only checks and returns. mmcv 2.1.0 with
# compiled ops is built once per machine and cached (tools/misc/build_mmcv.sh).
#
# Usage: tools/misc/install.sh [--optional]
#   --optional  also install mmsegmentation, PyAV, scikit-video
set -euo pipefail
cd "$(dirname "$0")/../.."

PYTHON_BIN=${PYTHON_BIN:-python3.11}
VENV=${VENV:-.venv}
WITH_OPTIONAL=0
[ "${1:-}" = "--optional" ] && WITH_OPTIONAL=1

log() { echo "[install] $*"; }
fail() { echo "[install] ERROR: $*" >&2; exit 1; }

command -v "$PYTHON_BIN" >/dev/null 2>&1 || PYTHON_BIN=python3
"$PYTHON_BIN" -c 'import sys; assert sys.version_info[:2] == (3, 11)' 2>/dev/null \
    || fail "Python 3.11 is required (mmcv 2.1.0 does not build on >= 3.13); set PYTHON_BIN."

STAMP_INPUTS="requirements/runtime.txt requirements/video.txt requirements/tests.txt requirements/docs.txt setup.py tools/misc/install.sh tools/misc/build_mmcv.sh"
[ "$WITH_OPTIONAL" = 1 ] && STAMP_INPUTS="$STAMP_INPUTS requirements/optional.txt"
HASH=$(cat $STAMP_INPUTS | sha256sum | cut -c1-16)
STAMP="$VENV/.mmmim-install-$HASH"
[ "$WITH_OPTIONAL" = 1 ] && STAMP="$STAMP-optional"

if [ -f "$STAMP" ] && "$VENV/bin/python" -c 'import mmmim, mmcv.ops' 2>/dev/null; then
    log "environment is up to date ($VENV)."
    exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
    log "creating $VENV with $("$PYTHON_BIN" --version)"
    "$PYTHON_BIN" -m venv "$VENV"
fi
PY="$VENV/bin/python"
PIP="$PY -m pip"

log "installing build tools and torch 2.14.1 / torchvision 0.29.1"
$PIP install -q --upgrade pip 'setuptools>=77,<81' wheel ninja
$PIP install -q torch==2.14.1 torchvision==0.29.1

log "installing the runtime and test requirements"
$PIP install -q -r requirements/runtime.txt -r requirements/tests.txt -r requirements/docs.txt
# mmaction2 without its declared dependencies (see requirements/video.txt).
$PIP install -q --no-deps -r requirements/video.txt

log "installing mmcv 2.1.0 with compiled ops"
bash tools/misc/build_mmcv.sh "$PY"
if [ "$WITH_OPTIONAL" = 1 ]; then
    log "installing the optional requirements (mmseg, PyAV, scikit-video)"
    $PIP install -q -r requirements/optional.txt
fi

log "installing mmmim in editable mode"
$PIP install -q --no-build-isolation --no-deps -e .

# mmmim first: it keeps mmpretrain.models importable beside transformers
# (the mmpretrain_multimodal patch in mmmim/patches.py).
"$PY" -c "import mmmim; from mmcv.ops import RoIAlign, nms; import mmdet.models, mmpretrain.models, mmaction.datasets" \
    || fail "the installed stack does not import; see the traceback above."
rm -f "$VENV"/.mmmim-install-*
touch "$STAMP"
log "done: $($PY -c 'import torch, mmcv, mmengine, mmdet, mmpretrain, mmmim; print(f"torch {torch.__version__}, mmcv {mmcv.__version__}, mmengine {mmengine.__version__}, mmdet {mmdet.__version__}, mmpretrain {mmpretrain.__version__}, mmmim {mmmim.__version__}")')"
