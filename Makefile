# nlpc_mpi - build, set-up, run and test.
#
#   make            build bin/nlpc_mpi and bin/nlpc_eval (installs missing
#                   Debian packages)
#   make run        the main job: 6 ranks, default config, real MNIST
#   make check      build and run the test suite (NLPC_CHECK_SLURM=1: and
#                   the SLURM test)
#   make deps       install missing Debian packages (no apt call if none)
#   make data       fetch and verify MNIST and Fashion-MNIST into data/
#   make bench      where the time goes: GEMM peak, per-phase times,
#                   scaling (BENCH_QUICK=1: tiny sizes, seconds)
#
# Flags come from pkg-config; they are expanded when a recipe runs, i.e.
# after `deps` has installed the packages that provide them.

CC        = mpicc
PKGS     ?= hdf5-openmpi lapacke openblas inih zlib libcjson
OPT      ?= -O2
CFLAGS   ?= $(OPT) -g
WARN      = -std=c11 -Wall -Wextra -Wpedantic
CPPFLAGS  = -Iinclude -D_POSIX_C_SOURCE=200809L -MMD -MP \
            $(shell pkg-config --cflags $(PKGS))
LDLIBS    = $(shell pkg-config --libs $(PKGS)) -llinear -lm
CONFIG   ?= configs/mnist_sync_6n_g6.ini
# one rank per node: the config's [network] nodes (6 if it does not say)
NP       ?= $(or $(shell sed -n 's/^[[:space:]]*nodes[[:space:]]*=[[:space:]]*\([0-9]*\).*/\1/p' \
                 $(CONFIG) 2>/dev/null | head -n 1),6)
MPIRUN   ?= mpirun --bind-to none

BUILD     = build
LIB_SRC   = $(filter-out src/main.c src/nlpc_eval.c,$(wildcard src/*.c))
LIB_OBJ   = $(LIB_SRC:src/%.c=$(BUILD)/%.o)
TEST_SRC  = $(wildcard tests/test_*.c)
TEST_BIN  = $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
# tests written as scripts; they print the same [ RUN ] / [ OK ] lines
TEST_SCRIPTS = tests/test_plot.py
DEPS_OK   = $(BUILD)/.deps-ok

export OMPI_ALLOW_RUN_AS_ROOT = 1
export OMPI_ALLOW_RUN_AS_ROOT_CONFIRM = 1
export OMPI_MCA_rmaps_base_oversubscribe = 1
export OMPI_MCA_mpi_yield_when_idle = 1
export OPENBLAS_NUM_THREADS ?= 1

.PHONY: all deps data run check tests bench clean

all: bin/nlpc_mpi bin/nlpc_eval

deps:
	@scripts/install-deps.sh

$(DEPS_OK): scripts/install-deps.sh
	@scripts/install-deps.sh
	@mkdir -p $(BUILD) && touch $@

data:
	@scripts/fetch-data.sh data

$(BUILD)/%.o: src/%.c | $(DEPS_OK)
	@mkdir -p $(BUILD)
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/libnlpc.a: $(LIB_OBJ)
	ar rcs $@ $^

bin/nlpc_mpi: $(BUILD)/main.o $(BUILD)/libnlpc.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

bin/nlpc_eval: $(BUILD)/nlpc_eval.o $(BUILD)/libnlpc.a
	@mkdir -p bin
	$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

$(BUILD)/tests/harness.o: tests/harness.c | $(DEPS_OK)
	@mkdir -p $(BUILD)/tests
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -c $< -o $@

$(BUILD)/tests/%: tests/%.c $(BUILD)/tests/harness.o $(BUILD)/libnlpc.a \
                  | $(DEPS_OK)
	@mkdir -p $(BUILD)/tests
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/tests/harness.o \
	    $(BUILD)/libnlpc.a $(LDLIBS) $(shell pkg-config --libs cmocka)

tests: $(TEST_BIN) bin/nlpc_mpi bin/nlpc_eval bin/peak bin/msgtime

run: bin/nlpc_mpi
	@scripts/fetch-data.sh data
	$(MPIRUN) -np $(NP) bin/nlpc_mpi $(CONFIG)

# install-deps.sh again (a no-op when all is there): the script tests need
# packages (python3-matplotlib) that may have gone since the build; in the
# recipe, not as a prerequisite, so that make -j runs no two apt at once.
# NLPC_CHECK_SLURM=1 adds the SLURM test (tests/slurm/run.sh: a private
# one-machine cluster, needs root, about 2 minutes); .ci/run sets it
SLURM_TEST = $(if $(filter 1,$(NLPC_CHECK_SLURM)),tests/slurm/run.sh)

check: tests
	@scripts/install-deps.sh
	@tests/run.sh $(TEST_BIN) $(TEST_SCRIPTS) $(SLURM_TEST)

bin/peak: bench/peak.c $(BUILD)/libnlpc.a | $(DEPS_OK)
	@mkdir -p bin
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libnlpc.a $(LDLIBS)

bin/msgtime: bench/msgtime.c | $(DEPS_OK)
	@mkdir -p bin
	$(CC) $(WARN) $(CPPFLAGS) $(CFLAGS) -o $@ $< $(LDLIBS)

# GEMM peak, per-phase times, scaling and the baseline (bench/README.md);
# BENCH_QUICK=1 for tiny sizes, BENCH_OUT=dir for another output directory
bench: bin/nlpc_mpi bin/peak bin/msgtime
	@scripts/install-deps.sh --bench
	python3 bench/bench.py

clean:
	rm -rf $(BUILD) bin

-include $(LIB_OBJ:.o=.d) $(BUILD)/main.d $(BUILD)/nlpc_eval.d \
         $(TEST_BIN:%=%.d) \
         $(BUILD)/tests/harness.d
