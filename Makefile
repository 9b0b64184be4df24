# Two commands for a newcomer:  `make demo`  and  `make check`.
# Both install what is missing (tools/bootstrap.sh), configure and build.
VENV  ?= .venv
BUILD ?= build
PY    ?= python3
MESON := $(VENV)/bin/meson
# meson runs ninja from PATH: use the one bootstrap installed, not
# whatever else the machine has (or lacks).
export PATH := $(abspath $(VENV))/bin:$(PATH)

.PHONY: all deps build check demo clean
all: build

deps: $(VENV)/.bootstrap-ok
$(VENV)/.bootstrap-ok: tools/bootstrap.sh tools/requirements-dev.txt
	PYTHON=$(PY) VENV=$(VENV) sh tools/bootstrap.sh
	touch $@

$(BUILD)/build.ninja: | deps
	$(MESON) setup $(BUILD) -Dpython=$(abspath $(VENV))/bin/python -Dpprof=enabled

build: deps $(BUILD)/build.ninja
	$(MESON) compile -C $(BUILD)

# The whole suite: unit, format, tracer and CLI tests; the same under
# ASan+UBSan and valgrind; the tracer on every CPython 3.9-3.13 found.
check: build
	VENV=$(VENV) BUILD=$(BUILD) sh tools/check.sh

demo: build
	VENV=$(VENV) BUILD=$(BUILD) sh tools/demo.sh

clean:
	rm -rf $(BUILD) build-asan build-fuzz build-py3.* demo-out
