# sipd — the two commands a user needs are `make run` and `make test`.
# Everything else is a building block of those two.

JOBS      ?= $(shell nproc 2>/dev/null || echo 2)
RELEASE   := build/release
SANITIZE  := build/sanitize
MSG       ?= tests/data/rfc4475/wsinv.dat
FUZZ_SECONDS ?= 300
PREFIX    ?= /usr/local

.PHONY: all bootstrap build sanitize test run parse fuzz bench install clean format-check format

all: build

bootstrap:
	@scripts/bootstrap

$(RELEASE)/CMakeCache.txt: | bootstrap
	@cmake -S . -B $(RELEASE) -DCMAKE_BUILD_TYPE=Release -DSIPD_BENCH=ON >/dev/null

$(SANITIZE)/CMakeCache.txt: | bootstrap
	@CC=clang cmake -S . -B $(SANITIZE) -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DSIPD_SANITIZE=ON -DSIPD_FUZZ=ON >/dev/null

build: bootstrap $(RELEASE)/CMakeCache.txt
	@cmake --build $(RELEASE) -j $(JOBS)

sanitize: bootstrap $(SANITIZE)/CMakeCache.txt
	@cmake --build $(SANITIZE) -j $(JOBS)

# Every test: the format check, unit tests in the release build, then unit
# tests and the fuzz smoke runs in the ASan+UBSan build.
test: format-check build sanitize
	ctest --test-dir $(RELEASE) --output-on-failure -j $(JOBS)
	ctest --test-dir $(SANITIZE) --output-on-failure -j $(JOBS)

# sipd in the foreground on 127.0.0.1:5060, UDP and TCP (Ctrl-C stops it).
# The embedded default store lives under ./var; add users with
# build/release/sipctl --location sqlite:var/sipd.db user add alice@localhost
SIPD_ARGS ?= --listen udp:127.0.0.1:5060 --listen tcp:127.0.0.1:5060 --domain localhost \
	--location sqlite:var/sipd.db
run: build
	@mkdir -p var
	$(RELEASE)/sipd $(SIPD_ARGS)

# The programs, man pages, example config, systemd unit, libsip with its
# headers and pkg-config file: make install [PREFIX=/usr] [DESTDIR=/tmp/pkg]
install: build
	DESTDIR=$(DESTDIR) cmake --install $(RELEASE) --prefix $(PREFIX)

# The parser demo: what sipd's parser finds in a message file.
parse: build
	$(RELEASE)/sip-parse $(MSG)

fuzz: sanitize
	@for f in $(SANITIZE)/fuzz_*; do fuzz/run $$f $(FUZZ_SECONDS) || exit 1; done

# The parser benchmark, then every scenario against Kamailio: bench/run
# writes build/bench-results/<UTC time>/ and ends with bench/report's table
# of sipd/Kamailio ratios and verdicts (bench/README.md). A smoke run of a
# few minutes: make bench BENCH_ARGS=--quick
BENCH_ARGS ?=
bench: build
	$(RELEASE)/bench_parse
	bench/bootstrap
	bench/run $(BENCH_ARGS)

FORMATTED := include/libsip/*.h src/*/*.c src/*/*.h tests/unit/*.c tests/support/*.h fuzz/*.c bench/*.c

format-check: bootstrap
	@clang-format --dry-run --Werror $(FORMATTED)

format:
	clang-format -i $(FORMATTED)

clean:
	rm -rf build
