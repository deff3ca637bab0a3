#!/usr/bin/env bash
# Make Fashion-MNIST (the Debian package dataset-fashion-mnist, MIT licence)
# available and print the folder that holds its four IDX files.
#
#   bash tools/misc/prepare_fashion_mnist.sh [CACHE_DIR]
#
# Order of preference, idempotent (a second call only checks the files):
#   1. /usr/share/datasets/fashion-mnist (the package is installed);
#   2. CACHE_DIR/usr/share/datasets/fashion-mnist from an earlier run;
#   3. `apt-get download dataset-fashion-mnist` (after `apt-get update` when
#      the package lists lack it) and `dpkg-deb -x` into CACHE_DIR: no root
#      needed; as root, `apt-get install -y` is the fallback.
# CACHE_DIR defaults to $MMMIM_CACHE_DIR/fashion-mnist, else
# ~/.cache/mmmim/fashion-mnist. The last line of stdout is the data folder
# (progress goes to stderr), so scripts can use
#   DATA_ROOT=$(bash tools/misc/prepare_fashion_mnist.sh | tail -n 1)
set -euo pipefail

PACKAGE=dataset-fashion-mnist
SYSTEM_DIR=/usr/share/datasets/fashion-mnist
FILES=(
    train-images-idx3-ubyte.gz train-labels-idx1-ubyte.gz
    t10k-images-idx3-ubyte.gz t10k-labels-idx1-ubyte.gz
)
CACHE_DIR=${1:-${MMMIM_CACHE_DIR:-$HOME/.cache/mmmim}/fashion-mnist}
CACHED_DIR=$CACHE_DIR$SYSTEM_DIR

log() { echo "[prepare_fashion_mnist] $*" >&2; }
fail() {
    log "ERROR: $*"
    log "Install it by hand with \`apt-get install $PACKAGE\` (root) or"
    log "\`apt-get download $PACKAGE && dpkg-deb -x ${PACKAGE}_*.deb DIR\`,"
    log "then pass DIR$SYSTEM_DIR as the data root."
    exit 1
}

complete() {
    local dir=$1 f
    for f in "${FILES[@]}"; do
        # A gzip file that is empty or truncated does not count.
        [ -s "$dir/$f" ] || return 1
    done
    gzip -t "$dir/${FILES[1]}" "$dir/${FILES[3]}" 2>/dev/null
}

for dir in "$SYSTEM_DIR" "$CACHED_DIR"; do
    if complete "$dir"; then
        log "found Fashion-MNIST in $dir"
        echo "$dir"
        exit 0
    fi
done

command -v apt-get >/dev/null || fail 'apt-get is not available.'
command -v dpkg-deb >/dev/null || fail 'dpkg-deb is not available.'

download() {
    # apt-get download writes into the current folder; run it in a private
    # temporary folder that the _apt user need not be able to read.
    local tmp=$1
    (cd "$tmp" && apt-get download "$PACKAGE" >&2)
}

TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT
if ! download "$TMP"; then
    log 'apt-get download failed; refreshing the package lists'
    if [ "$(id -u)" = 0 ]; then
        apt-get update >&2 || log 'apt-get update failed'
    else
        log 'not root: cannot run apt-get update'
    fi
    download "$TMP" || true
fi

DEB=$(find "$TMP" -maxdepth 1 -name "${PACKAGE}_*.deb" | head -n 1)
if [ -n "$DEB" ]; then
    log "extracting $(basename "$DEB") into $CACHE_DIR"
    mkdir -p "$CACHE_DIR"
    # Extract next to the cache and move into place, so that an interrupted
    # run never leaves a half-written folder that looks complete.
    STAGE=$(mktemp -d "$CACHE_DIR/.partial.XXXXXX")
    dpkg-deb -x "$DEB" "$STAGE" || fail "dpkg-deb -x $DEB failed."
    complete "$STAGE$SYSTEM_DIR" \
        || fail "$DEB does not contain the four IDX files."
    mkdir -p "$(dirname "$CACHED_DIR")"
    rm -rf "$CACHED_DIR"
    mv "$STAGE$SYSTEM_DIR" "$CACHED_DIR"
    rm -rf "$STAGE"
elif [ "$(id -u)" = 0 ]; then
    log "apt-get download failed; trying apt-get install -y $PACKAGE"
    DEBIAN_FRONTEND=noninteractive apt-get install -y "$PACKAGE" >&2 \
        || fail "apt-get install $PACKAGE failed."
fi

for dir in "$CACHED_DIR" "$SYSTEM_DIR"; do
    if complete "$dir"; then
        log "Fashion-MNIST is in $dir"
        echo "$dir"
        exit 0
    fi
done
fail "could not get $PACKAGE (no network access to the Debian archive?)."
