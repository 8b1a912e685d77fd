# The README's two commands: `make up` and `make test`. Both install what is missing first.
BUILD ?= build
GENERATOR := $(shell command -v ninja >/dev/null 2>&1 && echo "-G Ninja")
STATE_DIR ?= /var/lib/minikd

.PHONY: up test build deps test-deps bench clean

deps:
	@scripts/install-deps.sh

test-deps:
	@scripts/install-deps.sh --test

$(BUILD)/CMakeCache.txt:
	cmake -S . -B $(BUILD) $(GENERATOR) -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null

build: deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$$(nproc)

up: build
	@scripts/up.sh $(BUILD)/minikd $(STATE_DIR)

test: test-deps $(BUILD)/CMakeCache.txt
	cmake --build $(BUILD) -j$$(nproc)
	cd $(BUILD) && ctest --output-on-failure -j$$(nproc) --timeout 600

bench: build
	cmake --build $(BUILD) -j$$(nproc) --target $$(ls tests/bench/*_bench.cpp 2>/dev/null | xargs -n1 basename | sed 's/\.cpp$$//')
	@scripts/bench.sh $(BUILD)

clean:
	rm -rf $(BUILD)
