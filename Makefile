# Reel: the two commands of the README, and a few more.
#   make demo    build; a session daemon records the demo application; print the trace
#   make demo-cluster  a NATS broker, 3 workers, a rotating kernel session announcing
#                its chunks, their analysis through the workers (root)
#   make check   every test suite: ASan+UBSan build, then ThreadSanitizer
#   make bench   Reel beside LTTng-UST, babeltrace2 and tracefs, release build
# Missing Debian packages are installed with apt-get (as root, or sudo).

BUILD ?= build
ASAN_BUILD ?= build-asan
TSAN_BUILD ?= build-tsan
RELEASE_BUILD ?= build-release

CHECK_PACKAGES = meson ninja-build gcc g++ clang libbpf-dev bpftool libtracefs-dev pkg-config babeltrace2 python3-bt2 python3-pytest lttng-tools liblttng-ust-dev libzstd-dev zstd python3-lttnganalyses nats-server libnats-dev libgmp-dev libsqlite3-dev prometheus
BENCH_PACKAGES = $(CHECK_PACKAGES) time

ASAN_MESON = -Db_sanitize=address,undefined -Db_lundef=false
TSAN_MESON = -Db_sanitize=thread -Db_lundef=false

SUDO = $(shell [ "$$(id -u)" = 0 ] || echo sudo)

.PHONY: all build demo demo-cluster check check-asan check-tsan bench deps deps-bench clean

all: build

define install_missing
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "Installing missing Debian packages:" $$missing; \
		$(SUDO) apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq $$missing; \
	fi
endef

deps:
	$(call install_missing,$(CHECK_PACKAGES))

deps-bench:
	$(call install_missing,$(BENCH_PACKAGES))

# $(1): build directory, $(2): meson options
define meson_build
	@[ -f $(1)/build.ninja ] || meson setup $(1) $(2)
	ninja -C $(1)
endef

build: deps
	$(call meson_build,$(BUILD),)

demo: build
	bash examples/demo.sh $(BUILD)

demo-cluster: build
	bash examples/demo-cluster.sh $(BUILD)

check: deps check-asan check-tsan

check-asan:
	$(call meson_build,$(ASAN_BUILD),$(ASAN_MESON))
	ASAN_OPTIONS=abort_on_error=1:detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1 \
		meson test -C $(ASAN_BUILD) --print-errorlogs --suite unit --suite compile --suite stress --suite stress-asm --suite system --suite cli --suite reader --suite conformance --suite fuzz

check-tsan:
	$(call meson_build,$(TSAN_BUILD),$(TSAN_MESON))
	TSAN_OPTIONS=halt_on_error=1 meson test -C $(TSAN_BUILD) --print-errorlogs --suite stress

bench: deps-bench
	$(call meson_build,$(RELEASE_BUILD),--buildtype=release)
	@status=0; bash bench/run.sh $(RELEASE_BUILD) || status=1; \
	bash bench/reader.sh $(RELEASE_BUILD) || status=1; \
	bash bench/kernel.sh $(RELEASE_BUILD) || status=1; \
	bash bench/analyze.sh $(RELEASE_BUILD) || status=1; \
	bash bench/dist.sh $(RELEASE_BUILD) || status=1; \
	bash bench/follow.sh $(RELEASE_BUILD) || status=1; \
	BENCH_FOLLOW_ENGINE=1 bash bench/follow.sh $(RELEASE_BUILD) || status=1; exit $$status

clean:
	rm -rf $(BUILD) $(ASAN_BUILD) $(TSAN_BUILD) $(RELEASE_BUILD)
