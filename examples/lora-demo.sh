#!/usr/bin/env bash
# Fine-tuning on the device: compile kjv-gpt with --train-lora to an object,
# link examples/lora-finetune/finetune.c with it, and fine-tune it on the
# fortunes text (out of domain for a model trained on the Bible); prints the
# held-out bits per byte before and after.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
build="$(cd "${1:-$root/build}" && pwd)"
steps="${2:-200}"
out="$build/lora-demo"
mkdir -p "$out"

PYTHONPATH="$root/python" /usr/bin/python3 -c \
  "from sinter import corpora; open('$out/fortunes.txt', 'wb').write(corpora.fortunes())"
echo "== sinter-compile kjv-gpt --train-lora=rank=8 -> $out/model.o (+ model.h)"
"$build/bin/sinter-compile" "$root/examples/models/kjv-gpt/model.onnx" --train-lora=rank=8 \
  -o "$out/model.o" --name=kjv_gpt
clang-22 -O2 -DMODEL_GETTER=kjv_gpt -I "$out" -I "$root/include" \
  "$root/examples/lora-finetune/finetune.c" "$out/model.o" -lm -o "$out/finetune"
echo "== fine-tuning on fortunes ($(wc -c < "$out/fortunes.txt") bytes), $steps steps"
"$out/finetune" "$out/fortunes.txt" "$steps" 8 3e-3
