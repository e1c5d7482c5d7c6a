#!/usr/bin/env bash
# Installs every Debian package Sinter needs. Idempotent: a machine that has
# them all skips apt entirely. Set SINTER_NO_APT=1 to skip (e.g. no root).
set -euo pipefail

PKGS=(
  # build
  cmake ninja-build ccache make pkg-config
  # LLVM / MLIR 22
  llvm-22-dev llvm-22-tools libmlir-22-dev mlir-22-tools clang-22 lld-22 libclang-rt-22-dev
  # ONNX protobuf + libraries we build on
  libonnx-dev libprotobuf-dev protobuf-compiler libonnx-testdata
  libgtest-dev libgmock-dev libbenchmark-dev nlohmann-json3-dev libfmt-dev zlib1g-dev libzstd-dev libedit-dev libxml2-dev libcurl4-openssl-dev
  # python side: references and training
  python3 python3-numpy python3-onnx python3-torch python3-pytest python3-matplotlib
  # an optimized BLAS: without it Debian's torch and numpy fall back to the
  # reference BLAS (about 5 GFLOP/s instead of 130+ on 2 cores)
  libopenblas0-pthread
  # corpora
  bible-kjv fortunes
)
# node/npm for the onnxruntime reference: the machine image ships them; fall
# back to Debian's only where they are absent (Debian's npm conflicts with
# the image's nodejs).
command -v npm >/dev/null 2>&1 || PKGS+=(nodejs npm)

missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ "${#missing[@]}" -gt 0 ] && [ "${SINTER_NO_APT:-0}" != 1 ]; then
  echo "bootstrap: installing ${missing[*]}"
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# onnxruntime reference (npm, pinned); lives inside the repo, ignored by git.
here="$(cd "$(dirname "$0")/.." && pwd)"
if [ ! -f "$here/third_party/ort/node_modules/onnxruntime-node/package.json" ]; then
  mkdir -p "$here/third_party/ort"
  ( cd "$here/third_party/ort" && [ -f package.json ] || echo '{"name":"sinter-ort-ref","private":true}' > package.json
    ONNXRUNTIME_NODE_INSTALL=skip ONNXRUNTIME_NODE_INSTALL_CUDA=skip \
      npm install --no-audit --no-fund --ignore-scripts onnxruntime-node@1.30.0 >/dev/null )
fi
echo "bootstrap: ok"
