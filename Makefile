# SPDX-License-Identifier: GPL-2.0
# tlsfw: `make` builds build/tlsfw (BPF objects embedded through skeletons).
# `make test` installs dependencies, mounts the BPF filesystem and runs every test.

PREFIX ?= /usr/local
DESTDIR ?=
CC ?= gcc
CLANG ?= clang
BPFTOOL ?= bpftool
BUILD := build
FUZZ_SECONDS ?= 300

PKGS := libbpf yaml-0.1 libnftnl libmnl json-c nettle libxcrypt
# Opened with dlopen() on first use, not linked (userspace/lazylib.h says why): their headers
# are used, and their SONAMEs are compiled in.
LAZY_PKGS := libcurl libunbound libmicrohttpd gnutls libssl libcrypto
# Recursive (=) so that a sub-make run after install-deps sees the new packages.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) $(LAZY_PKGS) 2>/dev/null) $(SONAMES)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lelf -lz
# build/tlsfw takes these from their static archives (STATIC_LIBS=1, the default): mapping
# eight shared libraries cost every command about 1.5 ms of its start on a VM (performance.md,
# "Ninth round"). STATIC_LIBS=0 links them as shared libraries, as a distribution package
# would. libmnl (no archive in Debian) and libc stay shared, the lazy libraries dlopen()ed.
STATIC_LIBS ?= 1
STATIC_PKGS := libbpf yaml-0.1 libnftnl json-c nettle libxcrypt
ifeq ($(STATIC_LIBS),1)
PROG_LIBS = -Wl,-Bstatic $(shell pkg-config --libs $(STATIC_PKGS) 2>/dev/null) -lelf -lz \
	-Wl,-Bdynamic -lmnl
else
PROG_LIBS = $(PKG_LIBS)
endif
# Tests and benches also call OpenSSL themselves (ClientHellos, HMACs, test certificates).
TEST_LIBS = $(PKG_LIBS) $(shell pkg-config --libs libssl libcrypto 2>/dev/null)
soname = $(shell objdump -p $$(pkg-config --variable=libdir $(1) 2>/dev/null)/$(2).so 2>/dev/null | awk '/SONAME/ { print $$2 }')
SONAMES = -DTLSFW_SONAME_CURL='"$(call soname,libcurl,libcurl)"' \
	-DTLSFW_SONAME_UNBOUND='"$(call soname,libunbound,libunbound)"' \
	-DTLSFW_SONAME_MICROHTTPD='"$(call soname,libmicrohttpd,libmicrohttpd)"' \
	-DTLSFW_SONAME_GNUTLS='"$(call soname,gnutls,libgnutls)"' \
	-DTLSFW_SONAME_SSL='"$(call soname,libssl,libssl)"' \
	-DTLSFW_SONAME_CRYPTO='"$(call soname,libcrypto,libcrypto)"'

WARN := -Wall -Wextra -Wno-unused-parameter -Wno-missing-field-initializers
COMMON_CFLAGS = -std=gnu11 -g $(WARN) -D_GNU_SOURCE -I$(BUILD) -Iuserspace -Ibpf $(PKG_CFLAGS)
CFLAGS ?= -O2
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined

BPF_SRCS := $(wildcard bpf/*.bpf.c)
BPF_OBJS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/%.skel.h,$(BPF_SRCS))
BPF_HDRS := $(wildcard bpf/*.h)

US_SRCS := $(wildcard userspace/*.c)
US_HDRS := $(wildcard userspace/*.h) $(BPF_HDRS)
LIB_SRCS := $(filter-out userspace/main.c,$(US_SRCS))

OBJ := $(BUILD)/obj
ASAN := $(BUILD)/asan
FUZZ := $(BUILD)/fuzz

LIB_OBJS := $(patsubst userspace/%.c,$(OBJ)/%.o,$(LIB_SRCS))
ASAN_LIB_OBJS := $(patsubst userspace/%.c,$(ASAN)/obj/%.o,$(LIB_SRCS))
FUZZ_LIB_OBJS := $(patsubst userspace/%.c,$(FUZZ)/obj/%.o,$(LIB_SRCS))

# Tests: selftests/<dir>/test_*.c, each linked with selftests/<dir>/lib_*.c and selftests/lib/*.c
TEST_LIB_SRCS := $(wildcard selftests/lib/*.c)
ASAN_TEST_LIB_OBJS = $(patsubst selftests/lib/%.c,$(ASAN)/testlib/%.o,$(TEST_LIB_SRCS))
UNIT_TESTS := $(patsubst selftests/unit/%.c,$(ASAN)/tests/unit/%,$(wildcard selftests/unit/test_*.c))
BPF_TESTS := $(patsubst selftests/bpf/%.c,$(ASAN)/tests/bpf/%,$(wildcard selftests/bpf/test_*.c))
# (bench_wrap.bpf.c is a BPF program: its skeleton is built below, it is no benchmark)
BENCH_PROGS := $(patsubst selftests/bench/%.c,$(BUILD)/bench/%,$(filter-out %.bpf.c,$(wildcard selftests/bench/bench_*.c)))
FUZZ_TARGETS := $(patsubst selftests/fuzz/%.c,$(FUZZ)/%,$(wildcard selftests/fuzz/fuzz_*.c))

MAN_SRCS := $(wildcard Documentation/*.scd)
MANS := $(patsubst Documentation/%.scd,$(BUILD)/man/%,$(MAN_SRCS))

# Skeletons and BPF objects are intermediate files of the pattern rules: keep them.
.SECONDARY:

.PHONY: all deps bpffs test test-run bench bench-run demo demo-run fuzz fuzz-run install clean man tests \
	format format-check

all: $(BUILD)/tlsfw man

# ---- BPF -------------------------------------------------------------------------------------
$(BUILD)/vmlinux.h:
	@mkdir -p $(@D)
	$(BPFTOOL) btf dump file /sys/kernel/btf/vmlinux format c > $@.tmp && mv $@.tmp $@

BPF_CFLAGS = -g -O2 -target bpf -D__TARGET_ARCH_x86 -I$(BUILD) -Ibpf -Wall -Wno-unused-function

$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BUILD)/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(BPFTOOL) gen skeleton $< name $(subst -,_,$*) > $@.tmp && mv $@.tmp $@

# The content-inspection test program: built for tests and the benchmark only, never shipped.
CONTENT_SKEL := $(BUILD)/content_prog.skel.h

$(BUILD)/selftests/content_prog.bpf.o: selftests/bpf/content_prog.bpf.c selftests/bpf/content_prog.h $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(CONTENT_SKEL): $(BUILD)/selftests/content_prog.bpf.o
	$(BPFTOOL) gen skeleton $< name content_prog > $@.tmp && mv $@.tmp $@

# The benchmark's wrapper that tail-calls the real program (selftests/bench/bench_wrap.bpf.c).
BENCH_WRAP_SKEL := $(BUILD)/bench_wrap.skel.h

$(BUILD)/selftests/bench_wrap.bpf.o: selftests/bench/bench_wrap.bpf.c $(BPF_HDRS) $(BUILD)/vmlinux.h
	@mkdir -p $(@D)
	$(CLANG) $(BPF_CFLAGS) -c $< -o $@

$(BENCH_WRAP_SKEL): $(BUILD)/selftests/bench_wrap.bpf.o
	$(BPFTOOL) gen skeleton $< name bench_wrap > $@.tmp && mv $@.tmp $@

# ---- userspace -------------------------------------------------------------------------------
$(OBJ)/%.o: userspace/%.c $(US_HDRS) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) -c $< -o $@

# Objects that embed the BPF object through its skeleton are rebuilt when it changes (the
# order-only prerequisite above only makes it exist): apply records a hash of the embedded
# object as the identity of the programs it loads, so two objects must never disagree.
SKEL_USERS := $(basename $(notdir $(shell grep -l 'skel\.h"' $(US_SRCS))))
$(foreach d,$(OBJ) $(ASAN)/obj $(FUZZ)/obj,$(patsubst %,$(d)/%.o,$(SKEL_USERS))): $(SKELS) \
	$(BUILD)/tlsfw.build.h

# That hash, computed once here rather than by every apply (272 KB of SHA-256 per run).
$(BUILD)/tlsfw.build.h: $(BUILD)/bpf/tlsfw.bpf.o
	sha256sum $< | awk '{ printf "#define TLSFW_BUILD_SHA256 \"%s\"\n", $$1 }' > $@.tmp && mv $@.tmp $@

$(BUILD)/libtlsfw.a: $(LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(BUILD)/tlsfw: $(OBJ)/main.o $(BUILD)/libtlsfw.a
	$(CC) $(CFLAGS) -o $@ $^ $(PROG_LIBS)

# Sanitized build: every userspace test runs under ASan and UBSan.
$(ASAN)/obj/%.o: userspace/%.c $(US_HDRS) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) -O1 $(SAN_FLAGS) $(COMMON_CFLAGS) -c $< -o $@

$(ASAN)/libtlsfw.a: $(ASAN_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(ASAN)/tlsfw: userspace/main.c $(ASAN)/libtlsfw.a
	$(CC) -O1 $(SAN_FLAGS) $(COMMON_CFLAGS) -o $@ $^ $(PKG_LIBS)

# selftests/lib compiled once for the sanitized tests, not again for each of them (33 tests
# times 20 files made most of the suite's build time).
$(ASAN)/testlib/%.o: selftests/lib/%.c $(wildcard selftests/*/*.h) $(US_HDRS) | $(SKELS)
	@mkdir -p $(@D)
	$(CC) -O1 $(SAN_FLAGS) $(COMMON_CFLAGS) -Iselftests/lib -c $< -o $@

$(ASAN)/libtest.a: $(ASAN_TEST_LIB_OBJS)
	rm -f $@ && ar rcs $@ $^

$(ASAN)/tests/unit/%: selftests/unit/%.c $(wildcard selftests/unit/lib_*.c) $(ASAN)/libtest.a $(ASAN)/libtlsfw.a $(wildcard selftests/*/*.h)
	@mkdir -p $(@D)
	$(CC) -O1 $(SAN_FLAGS) $(COMMON_CFLAGS) -Iselftests/lib -o $@ $< $(wildcard selftests/unit/lib_*.c) $(ASAN)/libtest.a $(ASAN)/libtlsfw.a $(TEST_LIBS) -lm

$(ASAN)/tests/bpf/%: selftests/bpf/%.c $(wildcard selftests/bpf/lib_*.c) $(ASAN)/libtest.a $(ASAN)/libtlsfw.a $(wildcard selftests/*/*.h) $(SKELS)
	@mkdir -p $(@D)
	$(CC) -O1 $(SAN_FLAGS) $(COMMON_CFLAGS) -Iselftests/lib -o $@ $< $(wildcard selftests/bpf/lib_*.c) $(ASAN)/libtest.a $(ASAN)/libtlsfw.a $(TEST_LIBS) -lm

$(BUILD)/bench/%: selftests/bench/%.c $(wildcard selftests/bench/lib_*.c) $(TEST_LIB_SRCS) $(BUILD)/libtlsfw.a $(wildcard selftests/*/*.h) $(SKELS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(COMMON_CFLAGS) -Iselftests/lib -o $@ $< $(wildcard selftests/bench/lib_*.c) $(TEST_LIB_SRCS) $(BUILD)/libtlsfw.a $(TEST_LIBS) -lm

# libFuzzer build (clang): the library again, with coverage instrumentation.
$(FUZZ)/obj/%.o: userspace/%.c $(US_HDRS) | $(SKELS)
	@mkdir -p $(@D)
	$(CLANG) -O1 -fsanitize=fuzzer-no-link,address,undefined $(COMMON_CFLAGS) -c $< -o $@

$(FUZZ)/%: selftests/fuzz/%.c $(FUZZ_LIB_OBJS)
	@mkdir -p $(@D)
	$(CLANG) -O1 -fsanitize=fuzzer,address,undefined $(COMMON_CFLAGS) -o $@ $^ $(PKG_LIBS)

# Every BPF test and benchmark may drive the content test program (selftests/lib/content_run.c).
$(BPF_TESTS) $(BENCH_PROGS): $(CONTENT_SKEL)
$(BENCH_PROGS): $(BENCH_WRAP_SKEL)

tests: $(ASAN)/tlsfw $(UNIT_TESTS) $(BPF_TESTS) $(FUZZ_TARGETS)

# ---- documentation ---------------------------------------------------------------------------
$(BUILD)/man/%: Documentation/%.scd
	@mkdir -p $(@D)
	scdoc < $< > $@

man: $(MANS)

# ---- entry points ----------------------------------------------------------------------------
deps:
	@scripts/install-deps.sh

bpffs:
	@scripts/mount-bpffs.sh

# The public targets install dependencies first, then re-enter make so that pkg-config sees
# freshly installed libraries.
# The build before the tests uses every CPU (JOBS); the tests themselves run one at a time.
JOBS ?= $(shell nproc)
test: deps bpffs
	@$(MAKE) --no-print-directory -j$(JOBS) test-run

test-run: format-check all tests
	selftests/run.sh

bench: deps bpffs
	@$(MAKE) --no-print-directory bench-run

bench-run: all $(BENCH_PROGS)
	selftests/bench/run.sh

demo: deps bpffs
	@$(MAKE) --no-print-directory demo-run

demo-run: all
	scripts/demo.sh

fuzz: deps
	@$(MAKE) --no-print-directory fuzz-run

fuzz-run: $(FUZZ_TARGETS)
	FUZZ_SECONDS=$(FUZZ_SECONDS) selftests/fuzz/run.sh

install: all
	install -D -m 0755 $(BUILD)/tlsfw $(DESTDIR)$(PREFIX)/sbin/tlsfw
	install -D -m 0644 $(BUILD)/man/tlsfw.8 $(DESTDIR)$(PREFIX)/share/man/man8/tlsfw.8
	install -D -m 0644 $(BUILD)/man/tlsfw.conf.5 $(DESTDIR)$(PREFIX)/share/man/man5/tlsfw.conf.5
	install -d $(DESTDIR)$(PREFIX)/share/tlsfw/policies
	install -m 0644 policies/*.conf $(DESTDIR)$(PREFIX)/share/tlsfw/policies/
	# the unit names the binary where PREFIX puts it
	install -d $(DESTDIR)$(PREFIX)/lib/systemd/system
	sed 's#/usr/local/sbin/tlsfw#$(PREFIX)/sbin/tlsfw#g' scripts/tlsfw.service > $(DESTDIR)$(PREFIX)/lib/systemd/system/tlsfw.service

# Every C file and header follows the repository's .clang-format (kernel style).
FORMAT_SRCS = $(wildcard userspace/*.[ch] bpf/*.[ch] selftests/*/*.[ch])

format:
	clang-format -i $(FORMAT_SRCS)

format-check:
	@bad=$$(for f in $(FORMAT_SRCS); do clang-format --style=file "$$f" | cmp -s - "$$f" || echo "$$f"; done); \
	if [ -n "$$bad" ]; then echo "format-check: not formatted (run make format):" $$bad >&2; exit 1; fi

clean:
	rm -rf $(BUILD)
