#!/usr/bin/env bash
# The main job: compile the bundled transformer to an object file, link it
# into a C program, run it and print what it did.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
out="$build/demo"
model="$root/examples/models/kjv-gpt/model.onnx"
mkdir -p "$out"

echo "== sinter-compile $model -> $out/model.o (+ model.h)"
"$build/bin/sinter-compile" "$model" -o "$out/model.o" --name=kjv_gpt --report="$out/report.json"
cat "$out/report.json"

echo "== linking examples/c-demo/generate.c with the object"
clang-22 -O2 -DMODEL_GETTER=kjv_gpt -DMODEL_RUN=kjv_gpt_run -I "$out" -I "$root/include" \
  "$root/examples/c-demo/generate.c" "$out/model.o" -lm -o "$out/generate"
echo "object depends only on:"; nm --undefined-only "$out/model.o" | sed 's/^/  /'

echo "== running"
"$out/generate" "And God said unto Moses, " 40 128
