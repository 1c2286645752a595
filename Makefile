# ganpp: `make demo` trains the default DCGAN on Fashion-MNIST; `make test` builds and runs the test suite.
BUILD ?= build
JOBS ?= $(shell nproc)
MINUTES ?= 10
DEMO_OUT ?= runs/demo

.PHONY: deps test-deps build demo test clean

deps:
	bash scripts/install-deps.sh

test-deps:
	bash scripts/install-deps.sh --test

build:
	cmake -S . -B $(BUILD) -G Ninja -DCMAKE_BUILD_TYPE=Release
	cmake --build $(BUILD) -j $(JOBS)

demo: deps build
	$(BUILD)/ganpp train --config configs/dcgan-fashion.yaml --out $(DEMO_OUT) --max-minutes $(MINUTES)

test: test-deps build
	cd $(BUILD) && ctest --output-on-failure -j $(JOBS) --timeout 900

clean:
	rm -rf $(BUILD)
