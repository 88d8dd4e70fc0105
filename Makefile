# EQMS: build, test, run, bench and deps. See docs/development.md.
#
#   make            release build of libeqms, every service and tool (build/release)
#   make test       deps, debug+ASan/UBSan build (build/debug), unit + system tests
#   make run        deps, release build, local stack under ./var (make stop ends it)
#   make bench      every benchmark; make bench-<name> runs one
#   make deps       installs the Debian packages the project needs (idempotent)

V ?= release
BUILD := build/$(V)
# `make Q=` shows the full compiler lines
Q ?= @

# Debian packages: build, run, test. `make deps` installs the missing ones.
DEB_PACKAGES := build-essential pkg-config \
	libczmq-dev libzmq3-dev libjansson-dev libhiredis-dev libpq-dev \
	libmicrohttpd-dev libicu-dev libcmocka-dev libcurl4-openssl-dev libsodium-dev \
	zlib1g-dev libxlsxwriter-dev libzip-dev libespeak-ng-dev \
	postgresql postgresql-contrib redis-server kannel kannel-extras \
	python3-pytest python3-zmq python3-psycopg2 python3-redis python3-requests \
	python3-jsonschema python3-yaml python3-openpyxl \
	docker-compose procps iproute2 curl wrk sox \
	chromium chromium-driver python3-selenium fonts-wqy-microhei \
	libusb-1.0-0-dev umockdev libumockdev-dev libyajl-dev \
	gcc-arm-none-eabi libnewlib-arm-none-eabi \
	clang libclang-rt-14-dev

PKGS := libczmq libzmq jansson hiredis libpq libmicrohttpd icu-i18n icu-uc libsodium zlib
# Libraries only one service needs, by service (pkg-config names); unit tests,
# which link every service, get all of them.
SVC_PKGS_device-gateway := libusb-1.0
SVC_PKGS_rating-ingest := yajl
SVC_PKGS_queue-manager := yajl
SVC_PKGS_sms-notifier := libcurl
# common/export's XLSX (an archive member: only binaries that export link it);
# espeak-ng: the hall display's voice (services/web-api/wa_espeak.c)
SVC_PKGS_web-api := xlsxwriter libzip espeak-ng
# common/bkwriter and bkreader (backup archives: web-api writes, eqms-restore reads)
SVC_PKGS_restore := libzip

CC ?= cc
WARN := -std=c11 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wformat=2 -Wno-format-nonliteral
CPPFLAGS := -D_GNU_SOURCE -Icommon/include -I$(BUILD)/gen
ifeq ($(V),debug)
OPT := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	-fno-sanitize-recover=all
else
OPT := -O2 -g
endif
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CFLAGS := $(WARN) $(OPT)
LDFLAGS := $(OPT)
LDLIBS = $(PKG_LIBS) -lpthread -lm

# --- libeqms ---------------------------------------------------------------
COMMON_SRC := $(wildcard common/src/*.c)
COMMON_OBJ := $(COMMON_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/migrations.o
MIGRATIONS := $(sort $(wildcard common/sql/[0-9][0-9][0-9][0-9]_*.sql))
LIBEQMS := $(BUILD)/libeqms.a

# --- firmware core, built for the host: unit tests and the USB emulator link it
DEVCORE_SRC := $(wildcard firmware/core/*.c)
DEVCORE_OBJ := $(DEVCORE_SRC:%.c=$(BUILD)/%.o)
LIBDEVCORE := $(BUILD)/libdevcore.a
$(BUILD)/firmware/core/%.o: CPPFLAGS += -Ifirmware/core

$(LIBDEVCORE): $(DEVCORE_OBJ)
	rm -f $@ && ar rcs $@ $^

# Objects of another service that a service links (listed before its own
# archive): web-api checks work profiles with queue-manager's own parser.
SVC_OBJS_web-api := $(BUILD)/services/queue-manager/qm_rules.o
$(BUILD)/services/web-api/%.o: CPPFLAGS += -Iservices/queue-manager

# --- services: services/<name>/*.c -> bin/eqms-<name>; all but main.o also
# go into a per-service archive that unit tests link to run it in-process.
SERVICES := $(notdir $(patsubst %/,%,$(dir $(wildcard services/*/main.c))))
BINS := $(SERVICES:%=$(BUILD)/bin/eqms-%)

define service_rules
$(1)_SRC := $$(wildcard services/$(1)/*.c)
$(BUILD)/services/$(1)/%.o: CFLAGS += $$(if $$(SVC_PKGS_$(1)),$$(shell pkg-config --cflags $$(SVC_PKGS_$(1))))
$(1)_LIBOBJ := $$(patsubst %.c,$(BUILD)/%.o,$$(filter-out services/$(1)/main.c,$$($(1)_SRC)))
$(BUILD)/services/lib$(1).a: $$($(1)_LIBOBJ)
	@mkdir -p $$(@D)
	rm -f $$@ && ar rcs $$@ $$^
$(BUILD)/bin/eqms-$(1): $(BUILD)/services/$(1)/main.o $$(SVC_OBJS_$(1)) $(BUILD)/services/lib$(1).a $(LIBEQMS)
	@mkdir -p $$(@D)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(if $$(SVC_PKGS_$(1)),$$(shell pkg-config --libs $$(SVC_PKGS_$(1))))
endef
$(foreach s,$(SERVICES),$(eval $(call service_rules,$(s))))
SERVICE_LIBS := $(SERVICES:%=$(BUILD)/services/lib%.a)

# --- tests and benchmarks --------------------------------------------------
UNIT_SRC := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRC:tests/unit/%.c=$(BUILD)/unit/%)
# Binaries only the system tests use: tests/system/<name>/main.c -> testbin/eqms-<name>
TESTBINS := $(patsubst tests/system/%/main.c,$(BUILD)/testbin/eqms-%,$(wildcard tests/system/*/main.c))
# Test-only shared objects (LD_PRELOAD shims): tests/shim/<name>.c ->
# testlib/eqms-<name>.so; never linked into a product binary, built without
# sanitizers (they sit in front of the sanitizer runtime).
TESTLIBS := $(patsubst tests/shim/%.c,$(BUILD)/testlib/eqms-%.so,$(wildcard tests/shim/*.c))
BENCH_SRC := $(wildcard tests/bench/bench_*.c)
BENCH_BINS := $(BENCH_SRC:tests/bench/%.c=$(BUILD)/bench/%)
# Programs the benchmark scripts drive (simulated producers): tool_*.c
BENCH_TOOLS := $(patsubst tests/bench/%.c,$(BUILD)/bench/%,$(wildcard tests/bench/tool_*.c))
# Benchmarks that drive several real processes are Python scripts (Debian's
# /usr/bin/python3 with python3-zmq); what they measure is C.
BENCH_SCRIPTS := $(wildcard tests/bench/bench_*.py)
BENCH_NAMES := $(sort $(patsubst tests/bench/bench_%.c,%,$(BENCH_SRC)) \
	$(patsubst tests/bench/bench_%.py,%,$(BENCH_SCRIPTS)))

# Board ports: each may add binaries to EXTRA_BINS (the host emulator) and
# define `firmware` (the STM32 image).
-include $(wildcard firmware/port/*/port.mk)

.PHONY: all deps test unit run stop bench clean firmware lint-openapi fuzz console
.DEFAULT_GOAL := all

all: $(LIBEQMS) $(LIBDEVCORE) $(BINS) $(EXTRA_BINS) console

# --- the web console (services/web-api/console, docs/development.md "Console"):
# `npm ci` when package-lock.json changed (a stamp in node_modules), then
# `vite build` into build/console (one build for every V: it has no debug form)
CONSOLE_DIR := services/web-api/console
CONSOLE_SRC := $(shell find $(CONSOLE_DIR)/src -type f 2>/dev/null) \
	$(CONSOLE_DIR)/index.html $(CONSOLE_DIR)/vite.config.js
CONSOLE_STAMP := $(CONSOLE_DIR)/node_modules/.eqms-npm-ci

console: build/console/index.html

$(CONSOLE_STAMP): $(CONSOLE_DIR)/package-lock.json $(CONSOLE_DIR)/package.json
	cd $(CONSOLE_DIR) && npm ci --no-audit --no-fund --loglevel=error
	touch $@

build/console/index.html: $(CONSOLE_STAMP) $(CONSOLE_SRC)
	@echo "  VITE    $(CONSOLE_DIR) -> build/console"
	$(Q)cd $(CONSOLE_DIR) && npx vite build --logLevel warn

$(BUILD)/%.o: %.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/gen/migrations.c: $(MIGRATIONS) common/gen_migrations.sh
	@mkdir -p $(@D)
	sh common/gen_migrations.sh $(MIGRATIONS) > $@.tmp && mv $@.tmp $@

$(BUILD)/gen/migrations.o: $(BUILD)/gen/migrations.c
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(PKG_CFLAGS) $(CFLAGS) -c -o $@ $<

$(LIBEQMS): $(COMMON_OBJ)
	rm -f $@ && ar rcs $@ $^

ALL_SVC_PKGS = $(sort $(foreach s,$(SERVICES),$(SVC_PKGS_$(s))))
$(BUILD)/tests/unit/%.o: CPPFLAGS += -Ifirmware/core
$(BUILD)/tests/unit/%.o: CFLAGS += $(if $(ALL_SVC_PKGS),$(shell pkg-config --cflags $(ALL_SVC_PKGS)))
$(BUILD)/unit/%: $(BUILD)/tests/unit/%.o $(SERVICE_LIBS) $(LIBDEVCORE) $(LIBEQMS) | $(TESTLIBS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SERVICE_LIBS) $(LIBDEVCORE) $(LIBEQMS) $(LDLIBS) \
		$(if $(ALL_SVC_PKGS),$(shell pkg-config --libs $(ALL_SVC_PKGS))) $(shell pkg-config --libs cmocka)

$(BUILD)/testlib/eqms-%.so: tests/shim/%.c
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) -std=c11 -Wall -Wextra -Werror -O1 -g -fPIC -shared -D_GNU_SOURCE -o $@ $< -ldl -lpthread

$(BUILD)/testbin/eqms-%: $(BUILD)/tests/system/%/main.o $(LIBEQMS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) \
		$(if $(ALL_SVC_PKGS),$(shell pkg-config --libs $(ALL_SVC_PKGS)))

$(BUILD)/bench/%: $(BUILD)/tests/bench/%.o $(SERVICE_LIBS) $(LIBEQMS)
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $< $(SERVICE_LIBS) $(LIBEQMS) $(LDLIBS) \
		$(if $(ALL_SVC_PKGS),$(shell pkg-config --libs $(ALL_SVC_PKGS)))

deps:
	@missing=$$(for p in $(DEB_PACKAGES); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q 'install ok installed' || echo $$p; \
	done); \
	if [ -n "$$missing" ]; then \
		echo "deps: installing" $$missing; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -q && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends $$missing; \
	else echo "deps: all $(words $(DEB_PACKAGES)) packages present"; fi
	@# Node.js and npm for the console and lint-openapi: Debian's when there is
	@# none (NodeSource's nodejs carries its own npm, so npm is not in the list)
	@command -v npm >/dev/null || { sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q --no-install-recommends nodejs npm; }
	@node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 19) ? 0 : 1)' \
		|| { echo "deps: the console's Vite needs Node.js >= 20.19, found $$(node --version)"; exit 1; }
	$(MAKE) --no-print-directory $(CONSOLE_STAMP)

test: deps
	$(MAKE) V=debug all $(UNIT_SRC:tests/unit/%.c=build/debug/unit/%) \
		$(TESTBINS:$(BUILD)/%=build/debug/%) $(TESTLIBS:$(BUILD)/%=build/debug/%) \
		$(BENCH_TOOLS:$(BUILD)/%=build/debug/%)
	/usr/bin/python3 tests/run.py --build build/debug
	$(MAKE) --no-print-directory fuzz
	$(MAKE) --no-print-directory lint-openapi

# Sub-makes, so that pkg-config runs after `deps` installed the libraries.
run: deps
	$(MAKE) all
	sh docker/local/run.sh $(BUILD)

stop:
	sh docker/local/stop.sh

# docs/openapi.yaml through @redocly/cli, the version pinned in
# tools/redocly/package-lock.json (node_modules there is not committed)
# docs/openapi.yaml linted by @redocly/cli (tools/redocly's lock); part of `make test`
lint-openapi:
	cd tools/redocly && npm ci --no-audit --no-fund --loglevel=error && \
		npx redocly lint ../../docs/openapi.yaml --config ../../docs/redocly.yaml

# libFuzzer on the request-body decoder (tests/fuzz): FUZZ_S seconds, a
# crash (or a sanitizer report) fails; new inputs go to build/fuzz, the
# seeds in tests/fuzz/corpus stay as committed.
FUZZ_S ?= 30
FUZZ_FLAGS := -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
build/fuzz/fuzz_jsonreq: tests/fuzz/fuzz_jsonreq.c common/src/jsonreq.c common/src/utf8.c
	@mkdir -p $(@D)
	clang $(WARN) $(FUZZ_FLAGS) -D_GNU_SOURCE -Icommon/include \
		$(shell pkg-config --cflags jansson) -o $@ $^ $(shell pkg-config --libs jansson)

fuzz: build/fuzz/fuzz_jsonreq
	@mkdir -p build/fuzz/corpus/jsonreq
	build/fuzz/fuzz_jsonreq -max_total_time=$(FUZZ_S) -max_len=4096 -print_final_stats=1 \
		-artifact_prefix=build/fuzz/ build/fuzz/corpus/jsonreq tests/fuzz/corpus/jsonreq

bench: all
	@for n in $(BENCH_NAMES); do $(MAKE) --no-print-directory bench-$$n || exit 1; done

# `make bench-stats BENCH_ARGS="--rows 2000000"` passes options to the benchmark.
bench-%: all $(BENCH_TOOLS)
	@if [ -f tests/bench/bench_$*.py ]; then \
		/usr/bin/python3 tests/bench/bench_$*.py --bin $(BUILD)/bin $(BENCH_ARGS); \
	else \
		$(MAKE) --no-print-directory $(BUILD)/bench/bench_$* && \
		$(BUILD)/bench/bench_$* --bin $(BUILD)/bin $(BENCH_ARGS); \
	fi

clean:
	rm -rf build

-include $(shell find build -name '*.d' 2>/dev/null)
