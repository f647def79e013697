# obstui - one non-recursive Makefile.
#
#   make            build ./obstui
#   make run        install missing Debian packages, build, start obstui (the UI)
#   make test       install what the tests need, build, run every test
#   make check      the tests again under ASan + UBSan, plus the layer rules
#   make asan       build/asan/obstui: the program under ASan + UBSan (the shutdown test's)
#   make test-fresh make test in a fresh Debian bookworm root (mmdebstrap)
#   make deb        build/obstui_VERSION_ARCH.deb (packaging/debian)
#   make image      the container image localhost/obstui:VERSION (packaging/image)
#   make test-packaging  the .deb, image, Helm chart and Kustomize tests
#   make fuzz       run each libFuzzer target for FUZZ_SECONDS
#   make bench      the benchmarks (see bench/README.md)
#
# Objects go to $(B) (build/ by default); "make B=build-asan SAN=1" is the
# sanitizer build that "make check" uses.

.DEFAULT_GOAL := all
B ?= build
CC ?= cc
PKGS := libprotobuf-c sqlite3 libzstd libmicrohttpd jansson zlib inih libcrypto libssl libnghttp2 ncursesw libcurl
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

OPT ?= -O2 -g
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter \
	-Isrc -I$(B)/gen $(PKG_CFLAGS)
ifeq ($(SAN),1)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined
LDSAN := -fsanitize=address,undefined
endif
CFLAGS_ALL = $(CFLAGS_BASE) $(OPT) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lsnappy -lpthread -lm $(LDSAN) $(LDFLAGS)

# --- generated protobuf code ----------------------------------------------
PROTOS := $(shell find proto -name '*.proto' | sort)
PROTO_C := $(patsubst proto/%.proto,$(B)/gen/%.pb-c.c,$(PROTOS))
PROTO_H := $(PROTO_C:.c=.h)
PROTO_STAMP := $(B)/gen/.stamp

$(PROTO_STAMP): $(PROTOS)
	@mkdir -p $(B)/gen
	protoc-c -Iproto --c_out=$(B)/gen $(PROTOS)
	@touch $@
$(PROTO_C) $(PROTO_H): $(PROTO_STAMP)

# --- the program --------------------------------------------------------------
SRC := $(shell find src -name '*.c' ! -name main.c | sort)
LIB_OBJ := $(patsubst %.c,$(B)/obj/%.o,$(SRC)) $(patsubst %.c,$(B)/obj/%.o,$(PROTO_C:$(B)/gen/%=gen/%))
MAIN_OBJ := $(B)/obj/src/main.o

BIN := $(if $(filter build,$(B)),obstui,$(B)/obstui)

all: $(BIN)

$(B)/obj/src/%.o: src/%.c $(PROTO_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -MMD -MP -c $< -o $@
$(B)/obj/gen/%.o: $(B)/gen/%.c $(PROTO_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Wno-error -c $< -o $@

$(B)/libobstui.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(B)/libobstui.a
	$(CC) $(OPT) -o $@ $^ $(LDLIBS_ALL)

-include $(shell find $(B)/obj -name '*.d' 2>/dev/null)

# --- tests ----------------------------------------------------------------------
UNIT_SRC := $(sort $(wildcard tests/unit/test_*.c))
UNIT_BIN := $(patsubst tests/unit/%.c,$(B)/tests/%,$(UNIT_SRC))

$(B)/tests/%: tests/unit/%.c $(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit -o $@ $< $(B)/libobstui.a $(LDLIBS_ALL) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)
	@set -e; for t in $(UNIT_BIN); do echo "== $$t"; $$t; done

deps-run:
	@scripts/deps.sh run
deps-test:
	@scripts/deps.sh test

# make test: unit tests, the integration suite, and every fuzz target for a
# few seconds (so they keep building and the seeds keep passing).
test: deps-test
	@$(MAKE) --no-print-directory all unit asan
	@OBSTUI_BIN=$(abspath $(BIN)) tests/run-integration.sh
	@$(MAKE) --no-print-directory fuzz FUZZ_SECONDS=$(TEST_FUZZ_SECONDS)
	@$(MAKE) --no-print-directory test-packaging

TEST_FUZZ_SECONDS ?= 5

# --- packaging (packaging/README.md) -------------------------------------------
# make deb: build/obstui_VERSION_ARCH.deb, built in build/deb with Debian's
# flags; make image: that .deb in a bookworm image imported into podman;
# make test-packaging: tests/packaging/*.test.mjs (root; a few minutes, the
# bookworm root and the tools are cached in build/packaging).
deb:
	@packaging/debian/build-deb.sh
image:
	@packaging/image/build-image.sh
test-packaging: deps-test all
	@OBSTUI_BIN=$(abspath $(BIN)) tests/packaging/run.sh

# make test-fresh: make test in a fresh Debian bookworm root built with
# mmdebstrap, on a clone of the committed HEAD (scripts/test-fresh.sh; 15-25
# minutes, so not part of make test).
test-fresh:
	@scripts/test-fresh.sh

check: deps-test
	@scripts/check-layers.sh
	@$(MAKE) --no-print-directory B=build-asan SAN=1 all unit
	@OBSTUI_BIN=$(abspath build-asan/obstui) OBSTUI_ASAN_BIN=$(abspath build-asan/obstui) \
		tests/run-integration.sh

# build/asan/obstui (objects in build/asan/obj, kept between runs): what
# tests/integration/shutdown.test.mjs stops with queries in flight
asan:
	@$(MAKE) --no-print-directory B=build/asan SAN=1 build/asan/obstui

# the UI on a terminal; headless (serve) when output is not a terminal
run: deps-run
	@$(MAKE) --no-print-directory all
	@if [ -t 0 ] && [ -t 1 ]; then ./obstui $(ARGS); else ./obstui serve $(ARGS); fi

# --- fuzzing (clang + libFuzzer) -----------------------------------------------
FUZZ_SECONDS ?= 20
fuzz: deps-test
	@$(MAKE) --no-print-directory B=build-fuzz CC=clang \
		OPT="-O1 -g -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined" \
		build-fuzz/libobstui.a
	@scripts/fuzz.sh $(FUZZ_SECONDS)

# --- benchmarks -------------------------------------------------------------------
# bench/run.sh builds the tools below (make B=DIR bench: in DIR) and runs every phase;
# make bench-ui runs only the UI's (bench/bench_ui.c), make bench-sync only push,
# pull and follow against Azurite (bench/sync_bench.mjs, bench/bench_sync.c).
# See bench/README.md.
BENCH_CFLAGS = $(CFLAGS_ALL) -Ibench

$(B)/bench/loadgen: bench/loadgen.c bench/loadgen_grpc.c bench/loadgen.h bench/bench.h \
		$(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/loadgen.c bench/loadgen_grpc.c $(B)/libobstui.a $(LDLIBS_ALL)
BENCH_UI_SRC := bench/bench_ui.c bench/ui_session.c bench/ui_trace.c
$(B)/bench/bench_ui: $(BENCH_UI_SRC) bench/ui_session.h bench/ui_trace.h bench/bench.h \
		$(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ $(BENCH_UI_SRC) $(B)/libobstui.a $(LDLIBS_ALL)

$(B)/bench/bench_sgui: bench/bench_sgui.c bench/ui_session.c bench/ui_session.h bench/bench.h \
		$(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/bench_sgui.c bench/ui_session.c $(B)/libobstui.a $(LDLIBS_ALL)

$(B)/bench/bench_metui: bench/bench_metui.c bench/ui_session.c bench/ui_session.h bench/bench.h \
		$(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/bench_metui.c bench/ui_session.c $(B)/libobstui.a $(LDLIBS_ALL)

$(B)/bench/bench_sync: bench/bench_sync.c bench/bench.h $(B)/libobstui.a
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/bench_sync.c $(B)/libobstui.a $(LDLIBS_ALL)

bench: deps-test all $(B)/bench/rwgen
	@BENCH_BUILD=$(B) bench/run.sh
	@[ "$${BENCH_METRICS:-1}" = 0 ] || BENCH_BUILD=$(B) bench/metrics_bench.sh $(BENCH_METRICS_ARGS)
	@[ "$${BENCH_SVCGRAPH:-1}" = 0 ] || BENCH_BUILD=$(B) bench/svcgraph_bench.sh
	@[ "$${BENCH_METVIEW:-1}" = 0 ] || BENCH_BUILD=$(B) bench/metview_bench.sh
	@[ "$${BENCH_COMPACT:-1}" = 0 ] || BENCH_BUILD=$(B) bench/compact_bench.sh
	@[ "$${BENCH_COMPACT_COST:-1}" = 0 ] || $(MAKE) --no-print-directory bench-compact-cost

bench-ui: all
	@BENCH_BUILD=$(B) BENCH_UI=only bench/run.sh
bench-sync: deps-test all
	@BENCH_BUILD=$(B) BENCH_SYNC=only bench/run.sh
.PHONY: bench-ui bench-sync

# make bench-metrics (also the last phase of make bench; BENCH_METRICS=0 skips it there):
# Prometheus remote write ingest and PromQL range queries, obstui
# side by side with Prometheus 2.42 and VictoriaMetrics on one stream (bench/rwgen.c,
# bench/metrics_bench.sh); BENCH_METRICS_ARGS="--series N --duration S" scales it.
$(B)/bench/rwgen: bench/rwgen.c bench/bench.h
	@mkdir -p $(dir $@)
	$(CC) $(BENCH_CFLAGS) -o $@ bench/rwgen.c -lsnappy -lpthread -lm $(LDSAN)
bench-metrics: all $(B)/bench/rwgen
	@BENCH_BUILD=$(B) bench/metrics_bench.sh $(BENCH_METRICS_ARGS)
.PHONY: bench-metrics

# make bench-svcgraph (also a phase of make bench; BENCH_SVCGRAPH=0 skips it there):
# what the service-graph rollups cost on ingest (with and without, same run), then
# the service graph, Grafana's service-map queries, TraceQL metrics and the Services
# view over 10M spans spread over 7 days (bench/svcgraph_bench.sh; BENCH_SG_* knobs).
bench-svcgraph: all
	@BENCH_BUILD=$(B) bench/svcgraph_bench.sh
.PHONY: bench-svcgraph

# make bench-compact-cost (also a phase of make bench; BENCH_COMPACT_COST=0 skips it
# there): ingest with and without background compaction, side by side (the
# service-graph benchmark's cost phase with OBSTUI_NO_COMPACT=1 as the switch)
bench-compact-cost: all
	@BENCH_BUILD=$(B) BENCH_OUT=$${BENCH_OUT:-bench/out}/compact-cost BENCH_SG_PHASES=cost \
		BENCH_SG_COST_SWITCH=compaction BENCH_SG_ROUND_SECONDS=$${BENCH_SG_ROUND_SECONDS:-40} \
		bench/svcgraph_bench.sh
.PHONY: bench-compact-cost

# make bench-metview (also a phase of make bench; BENCH_METVIEW=0 skips it there): a chart
# frame, the Metrics view's first frame over 100,000 series (bench/bench_metui.c), and metric
# block pull against the Azure SDK (bench/metsync_bench.mjs); bench/metview_bench.sh.
bench-metview: deps-test all
	@BENCH_BUILD=$(B) bench/metview_bench.sh
.PHONY: bench-metview

# the pkg-config names, for scripts that build outside this Makefile
print-pkgs:
	@echo $(PKGS)

clean:
	rm -rf build build-asan build-fuzz obstui

.PHONY: all unit test test-fresh test-packaging deb image check asan run fuzz bench clean deps-run deps-test print-pkgs
