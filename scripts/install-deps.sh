#!/usr/bin/env bash
# install-deps.sh - install the Debian packages nlpc_mpi needs to build,
# test and fetch its data. Idempotent: when everything is present it makes
# no apt call and prints nothing. (procps: the tests use pkill;
# python3-matplotlib: scripts/plot-run.py and its test.)
#
#   scripts/install-deps.sh          what make, make run and make check need
#   scripts/install-deps.sh --bench  and python3-torch, for make bench's
#                                    back-propagation baseline
set -euo pipefail

pkgs=(libopenmpi-dev openmpi-bin libopenblas-dev liblapacke-dev
      libhdf5-openmpi-dev hdf5-tools liblinear-dev libinih-dev zlib1g-dev
      libcjson-dev libcmocka-dev pkg-config make gcc ca-certificates
      python3 python3-matplotlib procps)
if [ "${1:-}" = "--bench" ]; then
    pkgs+=(python3-torch python3-numpy)
fi

# fetch-data.sh needs npm; a node installation from elsewhere will do.
if ! command -v npm >/dev/null 2>&1; then
    pkgs+=(npm)
fi

installed() {
    [ "$(dpkg-query -W -f='${Status}' "$1" 2>/dev/null || true)" = \
      "install ok installed" ]
}

missing=()
for p in "${pkgs[@]}"; do
    installed "$p" || missing+=("$p")
done
[ "${#missing[@]}" -eq 0 ] && exit 0

sudo=()
if [ "$(id -u)" -ne 0 ]; then
    sudo=(sudo)
fi
echo "install-deps.sh: installing ${missing[*]}"
"${sudo[@]}" apt-get update
"${sudo[@]}" env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y --no-install-recommends "${missing[@]}"
