# Two commands for a fresh machine:
#   make demo   set-up, build, compile the bundled model, link it into a C
#               program, run it and print what it did
#   make check  set-up, build, every test (lit, unit, end-to-end, conformance)
BUILD ?= build
JOBS ?= 2
LLVM_DIR ?= /usr/lib/llvm-22
export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

.PHONY: all setup configure build demo check bench bench-gpu bench-linearize bench-sparsity bench-sparse-kernel bench-binary-mos compression-table sparsity-table binary-mos-table gse-table bench-gse clean kjv-gpt kjv-opt kjv-llama model-table kjv-gpt-mos kjv-llama-mos kjv-gpt-mos1 kjv-llama-mos1 kjv-opt-qcfs kjv-gpt-qcfs spike-table lora-table lora-demo

all: build

setup:
	bash scripts/bootstrap.sh

$(BUILD)/build.ninja: CMakeLists.txt
	cmake -G Ninja -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release \
	  -DMLIR_DIR=$(LLVM_DIR)/lib/cmake/mlir \
	  -DCMAKE_C_COMPILER=$(LLVM_DIR)/bin/clang -DCMAKE_CXX_COMPILER=$(LLVM_DIR)/bin/clang++ \
	  -DCMAKE_CXX_COMPILER_LAUNCHER=ccache -DCMAKE_C_COMPILER_LAUNCHER=ccache \
	  -DCMAKE_EXE_LINKER_FLAGS=-fuse-ld=lld -DCMAKE_SHARED_LINKER_FLAGS=-fuse-ld=lld

configure: setup $(BUILD)/build.ninja

build: configure
	cmake --build $(BUILD) -j $(JOBS)

demo: build
	bash examples/demo.sh $(BUILD)

check: build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS)

# Dense CPU benchmark against onnxruntime and the machine's limits
# (docs/performance.md); writes bench/results/dense_cpu.{json,png}.
bench: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_dense.py

# The same stack on an NVIDIA GPU against this CPU (needs a GPU and its
# driver; says so and measures nothing without); bench/results/gpu.json.
bench-gpu: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_gpu.py

# FFN linearization against dense (docs/compression.md, speed section).
bench-linearize: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_linearize.py --docs

bench-sparsity: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_sparsity.py --docs

# The sparse FFN kernel alone (Google Benchmark), built from the runtime
# sources for this CPU's widest variant (AVX-512, else AVX2).
SPARSE_KERNEL_FLAGS = $(if $(shell grep -m1 -o avx512f /proc/cpuinfo),-mavx512f -mavx2 -mfma -DSINTER_VL=16 -DSINTER_MR=8,-mavx2 -mfma -DSINTER_VL=8 -DSINTER_MR=6)
bench-sparse-kernel: setup
	mkdir -p build/sparse-kernel
	cd build/sparse-kernel && clang-22 -O3 -fno-strict-aliasing $(SPARSE_KERNEL_FLAGS) -I../../lib/Runtime -c \
	  ../../lib/Runtime/sinter_sparse_ffn.c ../../lib/Runtime/sinter_topk.c ../../lib/Runtime/sinter_sgemm.c \
	  ../../lib/Runtime/sinter_threads.c
	clang++-22 -O3 -Ilib/Runtime bench/sparse_ffn_kernel.cpp build/sparse-kernel/*.o -lbenchmark -lpthread -lm \
	  -o build/sparse-kernel/sparse_ffn_kernel
	build/sparse-kernel/sparse_ffn_kernel --benchmark_repetitions=5 --benchmark_report_aggregates_only=true

# BinaryMoS speed and size: 1-bit GEMV against fp32, the d=768 stack binary
# against onnxruntime fp32 (docs/compression.md, binary-mos).
bench-binary-mos: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_binary_mos.py --docs

bench-gse: build
	PYTHONPATH=python /usr/bin/python3 bench/bench_gse.py --docs

# Accuracy and size of FFN linearization on the reference models (about
# 20 minutes; docs/compression.md, accuracy section).
compression-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/compression_table.py

# Accuracy of FFN activation sparsity on the three reference models, static
# and dynamic, attribution and magnitude (about 40 minutes; docs/compression.md).
sparsity-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/sparsity_table.py

# Retrain the reference models (fixed seeds and step counts; about 25
# minutes each on 2 cores). See docs/models.md.
TRAIN = cd python && /usr/bin/python3 -m sinter.train --d 192 --layers 4 --heads 4 --context 128
kjv-gpt: setup
	$(TRAIN) --arch gpt2 --out ../examples/models/kjv-gpt --steps 1150
kjv-opt: setup
	$(TRAIN) --arch opt --out ../examples/models/kjv-opt --steps 1900 --batch 16
kjv-llama: setup
	$(TRAIN) --arch llama --out ../examples/models/kjv-llama --steps 1050

# Distil the BinaryMoS students (E = 4 committed; E = 1 for the accuracy
# table, into build/mos/). Fixed seeds and steps; see docs/compression.md.
DISTILL = cd python && /usr/bin/python3 -m sinter.distill
kjv-gpt-mos: setup
	$(DISTILL) --teacher ../examples/models/kjv-gpt --experts 4 --steps 500 --out ../examples/models/kjv-gpt-mos
kjv-gpt-mos1: setup
	$(DISTILL) --teacher ../examples/models/kjv-gpt --experts 1 --steps 500 --out ../build/mos/kjv-gpt-mos1
kjv-llama-mos: setup
	$(DISTILL) --teacher ../examples/models/kjv-llama --experts 4 --steps 200 --out ../examples/models/kjv-llama-mos
kjv-llama-mos1: setup
	$(DISTILL) --teacher ../examples/models/kjv-llama --experts 1 --steps 200 --out ../build/mos/kjv-llama-mos1

# Stage 1 of spiking conversion: QCFS fine-tuning (about 20 minutes each;
# docs/compression.md, "spike").
QCFS = cd python && /usr/bin/python3 -m sinter.qcfs
kjv-opt-qcfs: setup
	$(QCFS) --parent ../examples/models/kjv-opt --levels 8 --steps 400 --out ../examples/models/kjv-opt-qcfs
kjv-gpt-qcfs: setup
	$(QCFS) --parent ../examples/models/kjv-gpt --levels 8 --steps 400 --out ../examples/models/kjv-gpt-qcfs

# Accuracy and size of BinaryMoS on kjv-gpt and kjv-llama: fp32,
# post-training E = 1 and 4, distilled E = 1 and 4 (docs/compression.md).
binary-mos-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/binary_mos_table.py --docs

# Accuracy, firing rates, energy and speed of the spiking QCFS models
# (about 30 minutes; docs/compression.md).
spike-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/spike_table.py --docs

# Accuracy and size of GSE-INT quantization on kjv-gpt and kjv-llama
# (about 30 minutes; docs/compression.md).
gse-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/gse_table.py --docs

# The accuracy table of docs/models.md, from a real run.
model-table: build
	PYTHONPATH=python /usr/bin/python3 scripts/model_table.py

# --train-lora against PyTorch LoRA on fortunes (docs/compression.md);
# writes bench/results/lora.json and the table in compression.md.
lora-table: build
	PYTHONPATH=python /usr/bin/python3 -m sinter.lora --docs

# Fine-tune kjv-gpt on fortunes from C through the object (examples/lora-finetune).
lora-demo: build
	bash examples/lora-demo.sh $(BUILD)

clean:
	rm -rf $(BUILD)
