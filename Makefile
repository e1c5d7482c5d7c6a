# Two commands for a fresh machine:
#   make demo   set-up, build, compile the bundled model, link it into a C
#               program, run it and print what it did
#   make check  set-up, build, every test (lit, unit, end-to-end, conformance)
BUILD ?= build
JOBS ?= 2
LLVM_DIR ?= /usr/lib/llvm-22
export CCACHE_DIR ?= $(CURDIR)/.cache/ccache

.PHONY: all setup configure build demo check clean kjv-gpt

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

# Retrains the bundled kjv-gpt (fixed seeds; about 22 minutes on 2 cores).
kjv-gpt: setup
	cd python && /usr/bin/python3 -m sinter.train --arch gpt2 --out ../examples/models/kjv-gpt \
	  --d 192 --layers 4 --heads 4 --context 128 --minutes 22

clean:
	rm -rf $(BUILD)
