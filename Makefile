# tapegrad: plain GNU make.
#   make                 libtapegrad.a and libtapegrad.so (float) in build/float
#   make install         library, headers, tapegrad.pc, command, man pages, docs
#                        (PREFIX=/usr/local, DESTDIR, LIBDIR, ...: mk/install.mk)
#   make PRECISION=double  the same sources in double, in build/double
#   make test            every Check suite, in float and in double (gradchecks),
#                        then make test-install
#   make test-browser    only the HTML page's test, in headless Chromium
#   make test-asan       the suites under AddressSanitizer + UBSan
#   make deps            apt-get install the Debian packages we need (saying why)
#   make readme-picture  redraw docs/unrolled-rnn.dot and .svg (the README's)
#   make format          clang-format every C file
#   make docs            the API reference (Doxygen) in build/docs/html
#   make bench-tape      tape overhead and matmul throughput figures
#   make bench           tapegrad against PyTorch (BENCH=quick: under 3 minutes)
#   make bench-cells     user, JSON and wishlist cells against the built-in LSTM,
#                        the layer-norm LSTM against PyTorch's (bench/cells.sh)
#   make cells-example   plain, layer-norm, peephole and zoneout LSTMs on Moby Dick:
#                        validation bits per character and ms per step
#   make bench-threads   1 vs 2 threads, OpenMP wait policies, beside a busy process
#   make bench-sample    tapegrad sample at batch 1 against PyTorch (characters/s)
#   make bench-memory    train.memory at T = 1024, 4096, 16384: peak RSS and ms
#                        per step, full tape against recomputation (bench/memory.sh)
#   make MPI=1           the same with OpenMPI (dist/dist_mpi.c), in build/float-mpi:
#                        `mpirun -np N build/float-mpi/tapegrad train ...` (docs/cli.md)
#   make test-mpi        MPI=1's suites and tests/mpi (2 processes against 1)
#   make bench-dist      data-parallel figures: 1 process x 2 threads vs 2 x 1
#   make fuzz            every libFuzzer target for FUZZ_SECONDS each (tests/fuzz)

PRECISION ?= float
SAN ?=
BUILD_ROOT ?= build
MPI ?=
BUILD := $(BUILD_ROOT)/$(PRECISION)$(if $(SAN),-san)$(if $(MPI),-mpi)

CC ?= cc
PKGS := check
DEPS_PKGS := libblis-dev libcjson-dev check pkg-config graphviz mandoc libopenmpi-dev openmpi-bin
# What each is for: make deps says so before it installs anything.
define DEPS_WHY
libblis-dev: BLIS, the library the matrix products run on
libcjson-dev: cJSON, the reader of JSON specs
check: Check, the unit-test framework of make test
pkg-config: finds the flags to link Check
graphviz: dot, for tapegrad graph --format svg|png and the README's picture's test
mandoc: lints the man pages in make test
libopenmpi-dev: OpenMPI, for make MPI=1 (training on several processes)
openmpi-bin: mpirun, for make test-mpi
endef
export DEPS_WHY
# POSIX 2008 for blis.h's pthread types and for the CLI's signals. No errno
# from math functions and no trapping floating point (we read neither), so
# elementwise loops with selects vectorise; IEEE results are unchanged.
# -O2 alone vectorises only loops whose trip count is a multiple of the
# vector width; the loop vectoriser with the dynamic cost model takes every
# elementwise loop. (GCC 12 has been seen folding a (double)(float)x round
# trip away in a vectorised loop: tests/core/test_safetensors.c writes such
# values out instead of computing them.)
# (GCC's flags; clang, which make fuzz uses, vectorises at -O2 and has no
# -fvect-cost-model.)
VECT_FLAGS := $(if $(findstring clang,$(CC)),,-ftree-loop-vectorize -fvect-cost-model=dynamic)
CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -Wall -Wextra -O2 -g -fPIC \
               $(VECT_FLAGS) \
               -fno-math-errno -fno-trapping-math $(if $(WERROR),-Werror)
CFLAGS_PREC := $(if $(filter double,$(PRECISION)),-DTG_DOUBLE)
SAN_FLAGS := -fsanitize=address -fsanitize=undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS_SAN := $(if $(SAN),$(SAN_FLAGS))
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_PREC) $(CFLAGS_SAN) -I. $(CPPFLAGS) $(CFLAGS)
LIBS := -lblis -lcjson -lm -lpthread -fopenmp
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit -lrt)

LIB_DIRS := core autograd nn optim model dist
# dist/: MPI=1 takes dist_mpi.c (OpenMPI's flags from pkg-config ompi-c),
# the default build dist_none.c (one process, no MPI anywhere).
LIB_SRCS := $(filter-out dist/dist_$(if $(MPI),none,mpi).c,$(wildcard $(addsuffix /*.c,$(LIB_DIRS))))
MPI_CFLAGS := $(if $(MPI),$(shell pkg-config --cflags ompi-c))
LIBS += $(if $(MPI),$(shell pkg-config --libs ompi-c))
LIB_OBJS := $(LIB_SRCS:%.c=$(BUILD)/%.o)
HEADERS := tapegrad.h $(wildcard $(addsuffix /*.h,$(LIB_DIRS))) $(wildcard $(addsuffix /*.def,$(LIB_DIRS)))

TEST_DIRS := $(filter-out $(if $(MPI),,mpi),$(patsubst tests/%/,%,$(sort $(dir $(wildcard tests/*/test_*.c)))))
TEST_BINS := $(TEST_DIRS:%=$(BUILD)/tests/test_%)

.PHONY: bench-dist
.PHONY: all lib test test-one test-mpi test-browser test-asan deps format bench bench-tape examples min-char-rnn clean fuzz fuzz-build
all: lib
lib: $(BUILD)/libtapegrad.a $(BUILD)/libtapegrad.so

# The version's three numbers, from core/version.h (the one place they live).
tg_version_part = $(shell sed -n 's/^\#define TG_VERSION_$(1) \([0-9]*\)$$/\1/p' core/version.h)
TG_VERSION_MAJOR := $(call tg_version_part,MAJOR)
TG_VERSION := $(TG_VERSION_MAJOR).$(call tg_version_part,MINOR).$(call tg_version_part,PATCH)
SO_NAME := libtapegrad.so.$(TG_VERSION_MAJOR)
SO_REAL := libtapegrad.so.$(TG_VERSION)

$(BUILD)/%.o: %.c $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c $< -o $@

# The fused recurrent kernels and the fast sigmoid/tanh are the hottest
# elementwise code: -O3 there.
$(BUILD)/autograd/ops_rnn.o $(BUILD)/autograd/fuse_run.o $(BUILD)/autograd/fuse_rules.o $(BUILD)/core/fastmath.o: ALL_CFLAGS += -O3

$(BUILD)/dist/dist_mpi.o: ALL_CFLAGS += $(MPI_CFLAGS)

# Splits elementwise work over BLIS's own OpenMP threads (libgomp).
$(BUILD)/core/parallel.o: ALL_CFLAGS += -fopenmp

# The web page's script and stylesheet (autograd/inspect_html.js, .css),
# kept as readable files, become C string literals for inspect_html.c:
# each line quoted, with \, " and ? (no trigraphs) escaped.
$(BUILD)/gen/%.inc: %
	@mkdir -p $(dir $@)
	sed -e 's/[\\"?]/\\&/g' -e 's/^/"/' -e 's/$$/\\n"/' $< > $@
$(BUILD)/autograd/inspect_html.o: $(BUILD)/gen/autograd/inspect_html.js.inc \
                                  $(BUILD)/gen/autograd/inspect_html.css.inc
$(BUILD)/autograd/inspect_html.o: ALL_CFLAGS += -I$(BUILD)/gen

$(BUILD)/libtapegrad.a: $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

# The shared library: soname libtapegrad.so.MAJOR, the real file named with
# the whole version, and the usual links. It exports the functions
# tapegrad.h declares and nothing else (mk/version-script.sh).
$(BUILD)/tapegrad.map: $(HEADERS) mk/version-script.sh
	@mkdir -p $(dir $@)
	sh mk/version-script.sh '$(CC)' > $@
$(BUILD)/$(SO_REAL): $(LIB_OBJS) $(BUILD)/tapegrad.map
	$(CC) $(CFLAGS_SAN) $(LDFLAGS) -shared -Wl,-soname,$(SO_NAME) \
	  -Wl,--version-script=$(BUILD)/tapegrad.map -o $@ $(LIB_OBJS) $(LIBS)
$(BUILD)/$(SO_NAME): $(BUILD)/$(SO_REAL)
	ln -sf $(SO_REAL) $@
$(BUILD)/libtapegrad.so: $(BUILD)/$(SO_NAME)
	ln -sf $(SO_NAME) $@

# Each tests/<dir>/test_<name>.c defines `TCase *tcase_<name>(void)`; the
# suite's main is generated from the file names, so adding a test file
# touches nothing else.
.SECONDEXPANSION:
$(BUILD)/tests/main_%.c: $$(wildcard tests/%/test_*.c) tests/gen_main.sh
	@mkdir -p $(dir $@)
	sh tests/gen_main.sh $* $(filter %.c,$^) > $@

$(BUILD)/tests/test_%: $(BUILD)/tests/main_%.c $$(wildcard tests/%/*.c) tests/testutil.h $(BUILD)/libtapegrad.a
	$(CC) $(ALL_CFLAGS) -Itests -o $@ $(filter %.c,$^) $(filter %.o,$^) $(BUILD)/libtapegrad.a $(LIBS) $(CHECK_LIBS)

# Runs every suite of this precision; fails if any test fails.
test-one: $(TEST_BINS)
	@status=0; for t in $(TEST_BINS); do echo "== $$t"; $$t || status=1; done; exit $$status

test:
	$(MAKE) test-one PRECISION=float
	$(MAKE) test-one PRECISION=double
	$(MAKE) test-install

# Only the web page in headless Chromium (tests/cli/test_graph_html.c, also
# part of make test): skipped without chromium, failed so when CI is set.
# tests/mpi (only with MPI=1): tapegrad train under mpirun, 2 processes
# against 1, in both precisions. As root OpenMPI also needs
# OMPI_ALLOW_RUN_AS_ROOT(_CONFIRM); the test sets them.
MPIRUN ?= mpirun --oversubscribe
test-mpi:
	$(MAKE) MPI=1 PRECISION=float $(BUILD_ROOT)/float-mpi/tests/test_mpi
	$(BUILD_ROOT)/float-mpi/tests/test_mpi
	$(MAKE) MPI=1 PRECISION=double $(BUILD_ROOT)/double-mpi/tests/test_mpi
	$(BUILD_ROOT)/double-mpi/tests/test_mpi

test-browser: $(BUILD)/tests/test_cli
	CK_RUN_CASE=graph_html $<

# Sanitized code runs 2-3x slower, more on a loaded machine: Check's
# per-case timeouts stretch with it (CK_TIMEOUT_MULTIPLIER multiplies them).
test-asan:
	ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1 CK_TIMEOUT_MULTIPLIER=4 \
	  $(MAKE) test-one PRECISION=double SAN=1

deps:
	@missing=""; for p in $(DEPS_PKGS); do \
	  dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then \
	  echo "deps: these Debian packages are missing; apt-get update, then apt-get install:"; \
	  for p in $$missing; do why=$$(printf '%s\n' "$$DEPS_WHY" | grep "^$$p:"); echo "  $${why:-$$p}"; done; \
	  if [ "$$(id -u)" = 0 ]; then apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y $$missing; \
	  else echo "please run: sudo apt-get install -y$$missing"; exit 1; fi; \
	else echo "deps: all installed ($(DEPS_PKGS))"; fi

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

# The API reference from the public headers' comments (mk/doxygen): fails
# on an undocumented public function or a malformed comment.
.PHONY: docs
docs:
	@rm -rf $(BUILD_ROOT)/docs && mkdir -p $(BUILD_ROOT)/docs
	TG_DOCS_VERSION=$(TG_VERSION) TG_DOCS_OUT=$(BUILD_ROOT)/docs \
	  TG_DOCS_INPUT="$$(sh mk/public-headers.sh '$(CC)' | tr '\n' ' ')" doxygen mk/doxygen/Doxyfile
	sh mk/doxygen/check.sh $(BUILD_ROOT)/docs/warnings.log

bench-tape: $(BUILD)/bench/bench_tape
	$(BUILD)/bench/bench_tape

# tapegrad against PyTorch on the recurrent configurations (bench/run.sh);
# BENCH=quick for a run under 3 minutes
BENCH ?= full
bench: $(BUILD)/bench/bench_rnn $(BUILD)/bench/bench_tape
	$(BUILD)/bench/bench_tape
	BENCH=$(BENCH) sh bench/run.sh $(BUILD)/bench/bench_rnn
	BENCH=$(BENCH) sh bench/cells.sh $(BUILD)/bench/bench_rnn

# every cell against the built-in LSTM, and the layer-norm LSTM against
# PyTorch's (bench/cells.sh; BENCH=quick for hidden 256 only)
.PHONY: bench-cells
bench-cells: $(BUILD)/bench/bench_rnn
	BENCH=$(BENCH) sh bench/cells.sh $(BUILD)/bench/bench_rnn

# peak RSS and ms per step: full tape, per-layer and whole-model recompute
.PHONY: bench-memory
bench-memory: $(BUILD)/bench/bench_rnn
	sh bench/memory.sh $(BUILD)/bench/bench_rnn

# 1 against 2 threads and OpenMP's wait policies beside a busy process
# (bench/threads.sh): p50 and p95 per setting
.PHONY: bench-threads
bench-threads: $(BUILD)/bench/bench_rnn
	sh bench/threads.sh $(BUILD)/bench/bench_rnn

# tapegrad sample at batch 1 against PyTorch's loop (bench/bench_sample.sh):
# characters per second at 1 and 2 threads
.PHONY: bench-sample
bench-sample: $(BUILD)/tapegrad $(BUILD)/bench/bench_rnn
	sh bench/bench_sample.sh $(BUILD)/tapegrad $(BUILD)/bench/bench_rnn

# data-parallel figures (bench/dist.sh): builds tapegrad with MPI=1
bench-dist:
	$(MAKE) MPI=1 PRECISION=$(PRECISION) $(BUILD_ROOT)/$(PRECISION)-mpi/tapegrad
	sh bench/dist.sh $(BUILD_ROOT)/$(PRECISION)-mpi/tapegrad

# bench_rnn carries the GEMM floor (bench/gemm_floor.c): it defines BLIS's
# bli_?gemm_ex itself to record a step's products, so it links them first.
$(BUILD)/bench/bench_rnn: bench/bench_rnn.c bench/bench_cells.c bench/bench_cells.h bench/gemm_floor.c bench/gemm_floor.h $(BUILD)/libtapegrad.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -Ibench -o $@ bench/bench_rnn.c bench/bench_cells.c bench/gemm_floor.c $(BUILD)/libtapegrad.a $(LIBS) -ldl

$(BUILD)/bench/%: bench/%.c $(BUILD)/libtapegrad.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtapegrad.a $(LIBS)

# Examples: each examples/<name>/<file>.c is a program built against the
# public header and the static library.
EXAMPLE_SRCS := $(wildcard examples/*/*.c)
EXAMPLES := $(patsubst %.c,$(BUILD)/%,$(EXAMPLE_SRCS))
examples: $(EXAMPLES)
$(BUILD)/examples/%: examples/%.c $(wildcard examples/*/*.h) $(BUILD)/libtapegrad.a
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(BUILD)/libtapegrad.a $(LIBS)

# The plain, layer-norm, peephole and zoneout LSTMs on Moby Dick, trained by
# turns for CELLS_STEPS steps each: validation bits per character and ms per
# step (examples/cells/README.md)
CELLS_STEPS ?= 600
.PHONY: cells-example
cells-example: $(BUILD)/examples/cells/compare examples/data/moby-dick.txt
	$< examples/data/moby-dick.txt $(CELLS_STEPS)

examples/data/moby-dick.txt:
	sh examples/data/fetch-moby-dick.sh

# Lessons (examples/lessons/README.md): each runs in $(BUILD)/lessons and
# writes its CSV, SVG and DOT files there.
LESSON_DIR := $(BUILD)/lessons
LESSON_BIN := $(BUILD)/examples/lessons
.PHONY: lessons lesson-bptt lesson-step lesson-vanishing lesson-teacher-forcing lesson-tbptt lesson-long lesson-rtrl
lessons: lesson-bptt lesson-vanishing lesson-teacher-forcing lesson-tbptt lesson-long lesson-rtrl
lesson-bptt: $(LESSON_BIN)/bptt_by_hand
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<)
lesson-step: $(LESSON_BIN)/bptt_by_hand
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<) --step
lesson-vanishing: $(LESSON_BIN)/vanishing
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<)
lesson-teacher-forcing: $(LESSON_BIN)/teacher_forcing examples/data/us-births-1969-1988.csv
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<) $(abspath examples/data/us-births-1969-1988.csv)
lesson-tbptt: $(LESSON_BIN)/truncated_bptt
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<)
lesson-long: $(LESSON_BIN)/long_bptt
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<)
examples/data/us-births-1969-1988.csv:
	sh examples/data/fetch-us-births.sh
# Real-time recurrent learning: RTRL == BPTT, its O(H^4) cost, sunspots online
lesson-rtrl: $(LESSON_BIN)/rtrl examples/sunspots/data/sunspots.csv
	@mkdir -p $(LESSON_DIR) && cd $(LESSON_DIR) && $(abspath $<) $(abspath examples/sunspots/data/sunspots.csv)
examples/sunspots/data/sunspots.csv:
	sh examples/sunspots/fetch.sh $@
$(BUILD)/tests/test_examples: examples/lessons/rtrl.h $(BUILD)/tests/own_cell.stamp $(LESSON_BIN)/long_bptt
$(BUILD)/tests/test_examples: private ALL_CFLAGS += -DLESSON_BIN_DIR='"$(abspath $(LESSON_BIN))"'
# tests/examples/test_own_cell.c includes the README's example: a stamp, not
# the .c itself, so the test's link line does not compile it a second time
$(BUILD)/tests/own_cell.stamp: examples/readme/own_cell.c
	@mkdir -p $(dir $@) && touch $@

# Tree-LSTM vs sequence LSTM on arithmetic expression trees (examples/treenet)
TREENET_EPOCHS ?= 15
.PHONY: treenet
treenet: $(BUILD)/examples/treenet/arithmetic
	$< $(TREENET_EPOCHS)

# g2p: grapheme-to-phoneme on CMUdict with attention (examples/g2p/README.md)
examples/g2p/cmudict.txt:
	sh examples/g2p/fetch-cmudict.sh

G2P_MINUTES ?= 50
G2P_OUT ?= $(BUILD)/g2p
.PHONY: g2p
g2p: $(BUILD)/examples/g2p/g2p examples/g2p/cmudict.txt
	$< examples/g2p/cmudict.txt --minutes $(G2P_MINUTES) --out $(G2P_OUT)

MIN_CHAR_RNN_ITERS ?= 30000
min-char-rnn: $(BUILD)/examples/min-char-rnn/min_char_rnn examples/data/moby-dick.txt
	$< examples/data/moby-dick.txt $(MIN_CHAR_RNN_ITERS)

clean:
	rm -rf $(BUILD_ROOT)

# ---- cli and demo (cli/) ----
# The tapegrad command: cli/*.c against the static library (docs/cli.md).
CLI_SRCS := $(wildcard cli/*.c)
CLI_OBJS := $(CLI_SRCS:%.c=$(BUILD)/%.o)
.PHONY: tapegrad demo
tapegrad: $(BUILD)/tapegrad
$(CLI_OBJS): $(wildcard cli/*.h)
$(BUILD)/tapegrad: $(CLI_OBJS) $(BUILD)/libtapegrad.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@ $(CLI_OBJS) $(BUILD)/libtapegrad.a $(LIBS)

# tests/cli runs the binary of its own build (private: not passed on to the
# library's objects).
$(BUILD)/tests/test_cli: $(BUILD)/tapegrad tests/cli/cli_util.h
$(BUILD)/tests/test_cli: private ALL_CFLAGS += -DTAPEGRAD_BIN='"$(abspath $(BUILD)/tapegrad)"'
$(BUILD)/tests/test_mpi: $(BUILD)/tapegrad tests/cli/cli_util.c tests/cli/cli_util.h
$(BUILD)/tests/test_mpi: private ALL_CFLAGS += -Itests/cli -DTAPEGRAD_BIN='"$(abspath $(BUILD)/tapegrad)"' \
                                              -DMPIRUN='"$(MPIRUN)"'

# The main demo: a character-level LSTM on Moby Dick, a few minutes on a
# 2-core machine, then samples at two temperatures (examples/charlm/README.md).
DEMO_DIR ?= $(BUILD)/charlm
demo: $(BUILD)/tapegrad examples/data/moby-dick.txt
	sh examples/charlm/demo.sh $(BUILD)/tapegrad examples/data/moby-dick.txt $(DEMO_DIR)

# The README's picture: the DOT source of the tape of
# docs/unrolled-rnn.json (float build, default seed) and dot's SVG of it.
# tests/cli/test_graph.c fails when the committed files drift from what this
# would write now (make readme-picture, then commit both).
.PHONY: readme-picture
readme-picture: $(BUILD)/tapegrad
	$(BUILD)/tapegrad graph docs/unrolled-rnn.json --steps 3 --format dot --out docs/unrolled-rnn.dot
	dot -Tsvg docs/unrolled-rnn.dot -o docs/unrolled-rnn.svg.tmp && mv docs/unrolled-rnn.svg.tmp docs/unrolled-rnn.svg

# Knowledge distillation of the demo's LSTM 256 into an LSTM 64: bits per
# character alone vs distilled, and the sampling speed-up
# (examples/distill/README.md); outputs in $(BUILD)/distill/.
.PHONY: distill
distill: $(BUILD)/tapegrad examples/data/moby-dick.txt
	sh examples/distill/run.sh $(BUILD)

# ---- examples on real data (examples/langid, postag, sunspots, genword, digits) ----
# make langid | postag | sunspots | genword | digits: fetch the data (checked by its
# sha256), train through tapegrad train (genword also samples through
# tapegrad sample) and report; outputs go to $(BUILD)/<name>/ (see each
# example's README.md).
.PHONY: langid postag sunspots genword digits
REAL_EXAMPLE_HDRS := $(wildcard examples/langid/*.h examples/postag/*.h examples/sunspots/*.h examples/genword/*.h)
$(patsubst %.c,$(BUILD)/%,$(wildcard examples/langid/*.c examples/postag/*.c examples/sunspots/*.c examples/genword/*.c)): $(REAL_EXAMPLE_HDRS)
digits: $(BUILD)/tapegrad
	sh examples/digits/run.sh $(BUILD)
langid: $(BUILD)/tapegrad $(BUILD)/examples/langid/prepare $(BUILD)/examples/langid/baseline $(BUILD)/examples/langid/report
	sh examples/langid/run.sh $(BUILD)
postag: $(BUILD)/tapegrad $(BUILD)/examples/postag/prepare $(BUILD)/examples/postag/report
	sh examples/postag/run.sh $(BUILD)
sunspots: $(BUILD)/tapegrad $(BUILD)/examples/sunspots/prepare $(BUILD)/examples/sunspots/forecast
	sh examples/sunspots/run.sh $(BUILD)
genword: $(BUILD)/tapegrad $(BUILD)/examples/langid/prepare
	sh examples/genword/run.sh $(BUILD)

# tests/examples (the fast variants) trains the examples' specs with the
# tapegrad of its own build ($(BUILD)/tapegrad, found next to the test).
$(BUILD)/tests/test_examples: $(BUILD)/tapegrad tests/examples/ex_util.h $(REAL_EXAMPLE_HDRS) $(wildcard examples/*/spec*.json)
# and runs examples/cells/compare of its build at tiny sizes
$(BUILD)/tests/test_examples: $(BUILD)/examples/cells/compare

# ---- fuzzing (tests/fuzz/README.md) ----
# tests/fuzz's suite replays the regression corpus through the targets,
# which reach the command's readers: it links cli/ (not its main).
CLI_LIB_OBJS := $(filter-out $(BUILD)/cli/main.o,$(CLI_OBJS))
$(BUILD)/tests/test_fuzz: $(CLI_LIB_OBJS) tests/fuzz/fuzz.h
$(BUILD)/tests/test_fuzz: private ALL_CFLAGS += -Icli -DFUZZ_SRC_DIR='"$(abspath .)"'

# make fuzz: one libFuzzer binary per target (clang, ASan, UBSan), in
# build/fuzz, each run for FUZZ_SECONDS on a corpus seeded from
# tests/fuzz/seeds and the examples' specs (tests/fuzz/run.sh); a finding
# fails the run and its input is copied to tests/fuzz/regress/<target>/.
FUZZ_SECONDS ?= 60
FUZZ_TARGETS := spec safetensors trees text cond classify tag regress treedata pairs checkpoint image
FUZZ_DIR := $(BUILD_ROOT)/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
fuzz: fuzz-build
	sh tests/fuzz/run.sh $(FUZZ_DIR) $(FUZZ_SECONDS) $(FUZZ_TARGETS)
fuzz-build:
	@command -v clang >/dev/null || { echo "make fuzz needs clang: apt-get install clang libclang-rt-14-dev"; exit 1; }
	$(MAKE) BUILD=$(FUZZ_DIR) CC=clang PRECISION=float \
	  CFLAGS="$(FUZZ_SAN) -fsanitize=fuzzer-no-link" \
	  $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)
FUZZ_SRCS := $(wildcard tests/fuzz/targets_*.c)
$(BUILD)/fuzz_%: tests/fuzz/driver/libfuzzer.c $(FUZZ_SRCS) tests/fuzz/fuzz.h $(CLI_LIB_OBJS) $(BUILD)/libtapegrad.a
	$(CC) $(ALL_CFLAGS) -fsanitize=fuzzer -Itests/fuzz -Icli -DFUZZ_TARGET=fuzz_$* \
	  -DFUZZ_SRC_DIR='"$(abspath .)"' -o $@ $(filter %.c,$^) $(CLI_LIB_OBJS) $(BUILD)/libtapegrad.a $(LIBS)

include mk/install.mk
