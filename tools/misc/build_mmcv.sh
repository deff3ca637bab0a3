#!/usr/bin/env bash
# Build mmcv 2.1.0 with compiled ops for the torch installed in the given
# Python environment, and cache the wheel outside the repository.
#
# mmcv publishes no wheel for torch >= 2.2, so it is built from the source
# archive on PyPI. Three changes make that build work on current torch:
#   * MMCV_WITH_OPS=1 (without it the build yields mmcv-lite, no RoIAlign/nms)
#   * --no-build-isolation (the build must see the installed torch)
#   * -std=c++20 in place of the -std=c++17 that mmcv's setup.py hard-codes
#     (torch >= 2.14 headers refuse anything older than C++20)
#
# Usage: tools/misc/build_mmcv.sh [PYTHON]     (default: .venv/bin/python)
# Env:   MMMIM_WHEEL_CACHE  cache folder (default: ~/.cache/mmmim/wheels)
#        MMCV_VERSION       (default: 2.1.0)
#        FORCE_CUDA         1 to build CUDA ops (default: 1 only if nvcc and a
#                           GPU are present)
set -euo pipefail

PYTHON=${1:-.venv/bin/python}
MMCV_VERSION=${MMCV_VERSION:-2.1.0}
CACHE_ROOT=${MMMIM_WHEEL_CACHE:-${HOME}/.cache/mmmim/wheels}

log() { echo "[build_mmcv] $*"; }
fail() { echo "[build_mmcv] ERROR: $*" >&2; exit 1; }

[ -x "$PYTHON" ] || fail "no Python at '$PYTHON'; run 'make install' first."
# The build runs inside the unpacked source folder: use an absolute path.
PYTHON=$(cd "$(dirname "$PYTHON")" && pwd)/$(basename "$PYTHON")

if "$PYTHON" -c "import mmcv, mmcv.ops, sys; sys.exit(mmcv.__version__ != '$MMCV_VERSION')" 2>/dev/null; then
    log "mmcv $MMCV_VERSION with ops is already installed."
    exit 0
fi

TORCH_VERSION=$("$PYTHON" -c 'import torch; print(torch.__version__.split("+")[0])') \
    || fail "torch is not importable from $PYTHON; install torch first."
PY_TAG=$("$PYTHON" -c 'import sys; print(f"py{sys.version_info[0]}{sys.version_info[1]}")')

if [ -z "${FORCE_CUDA:-}" ]; then
    FORCE_CUDA=0
    if command -v nvcc >/dev/null 2>&1 && command -v nvidia-smi >/dev/null 2>&1 \
        && nvidia-smi -L >/dev/null 2>&1; then
        FORCE_CUDA=1
    fi
fi
VARIANT=cpu
[ "$FORCE_CUDA" = "1" ] && VARIANT=cuda
KEY="mmcv-${MMCV_VERSION}_torch-${TORCH_VERSION}_${PY_TAG}_${VARIANT}"
CACHE_DIR="${CACHE_ROOT}/${KEY}"

WHEEL=$(ls "$CACHE_DIR"/mmcv-*.whl 2>/dev/null | head -n1 || true)
if [ -n "$WHEEL" ]; then
    log "using cached wheel $WHEEL"
else
    log "no cached wheel for $KEY; building mmcv $MMCV_VERSION from source."
    log "this takes about 12-18 minutes on 2 cores and happens once per machine."
    WORK=$(mktemp -d)
    trap 'rm -rf "$WORK"' EXIT
    "$PYTHON" -m pip install -q ninja 'setuptools>=77,<81' wheel \
        || fail "could not install the build tools (ninja, setuptools, wheel)."
    "$PYTHON" -m pip download -q --no-deps --no-binary :all: --no-build-isolation \
        "mmcv==${MMCV_VERSION}" -d "$WORK" \
        || fail "could not download the mmcv ${MMCV_VERSION} source archive from PyPI."
    tar -xzf "$WORK"/mmcv-"${MMCV_VERSION}".tar.gz -C "$WORK"
    SRC="$WORK/mmcv-${MMCV_VERSION}"
    grep -q -- "-std=c++17" "$SRC/setup.py" \
        || fail "mmcv setup.py no longer contains -std=c++17; check the patch."
    sed -i 's/-std=c++17/-std=c++20/g' "$SRC/setup.py"
    log "patched setup.py: -std=c++17 -> -std=c++20"
    # PATH must include the venv so that ninja is found by torch's builder.
    VENV_BIN=$(dirname "$PYTHON")
    mkdir -p "$WORK/dist"
    OPS="$SRC/mmcv/ops/csrc/pytorch"
    TOTAL=$(( $(ls "$OPS"/*.cpp "$OPS"/cpu/*.cpp | wc -l) ))
    [ "$FORCE_CUDA" = "1" ] && TOTAL=$(( TOTAL + $(ls "$OPS"/cuda/*.cu | wc -l) ))
    log "compiling $TOTAL C++ files (MMCV_WITH_OPS=1 FORCE_CUDA=$FORCE_CUDA); log: $WORK/build.log"
    (cd "$SRC" && PATH="$VENV_BIN:$PATH" MMCV_WITH_OPS=1 FORCE_CUDA="$FORCE_CUDA" \
        MAX_JOBS=${MAX_JOBS:-$(nproc)} \
        "$PYTHON" -m pip wheel -v --no-build-isolation --no-deps -w "$WORK/dist" . \
        > "$WORK/build.log" 2>&1) &
    BUILD_PID=$!
    START=$(date +%s)
    while kill -0 "$BUILD_PID" 2>/dev/null; do
        sleep 30
        DONE=$(find "$SRC/build" -name '*.o' 2>/dev/null | wc -l)
        log "compiled ${DONE}/${TOTAL} files ($(( ($(date +%s) - START) / 60 )) min)"
    done
    if ! wait "$BUILD_PID"; then
        tail -n 40 "$WORK/build.log" >&2
        fail "mmcv build failed (last lines above). A C++20 compiler (g++ >= 10) and the Python headers are required."
    fi
    mkdir -p "$CACHE_DIR"
    # Copy then rename, so an interrupted copy never leaves a broken cache entry.
    BUILT=$(ls "$WORK"/dist/mmcv-*.whl | head -n1)
    cp "$BUILT" "$CACHE_DIR/.partial"
    mv "$CACHE_DIR/.partial" "$CACHE_DIR/$(basename "$BUILT")"
    WHEEL="$CACHE_DIR/$(basename "$BUILT")"
    log "cached $WHEEL"
fi

"$PYTHON" -m pip install -q "$WHEEL" || fail "could not install $WHEEL."
"$PYTHON" -c "from mmcv.ops import RoIAlign, nms" \
    || fail "mmcv installed but mmcv.ops does not import; delete $CACHE_DIR and rebuild."
log "mmcv $MMCV_VERSION with compiled ops is installed."
