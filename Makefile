# ktstr: plain Makefile. `make`, `make check`, `make check-unit`, `make asan`,
# `make fuzz`, `make install PREFIX=...`. Objects go under $(BUILD).

BUILD    ?= build
PREFIX   ?= /usr/local
LIBDIR   ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
CC       ?= gcc
CFLAGS   ?= -O2 -g
VERSION  := 0.1.0
GITDESC  := $(shell git describe --always --dirty 2>/dev/null)
KTSTR_VERSION := $(VERSION)$(if $(GITDESC), ($(GITDESC)))

WARN     := -Wall -Wextra -Werror -Wno-unused-parameter -Wshadow -Wformat=2 -Wno-format-nonliteral
KCFLAGS  := -std=gnu11 -D_GNU_SOURCE -Iinclude -Isrc $(WARN) -MMD -MP
LIBS     := -ljansson -lbpf -lelf -lzstd -llz4 -lz -lpthread -lm
LDSTATIC ?= -static

# Library: every module except the CLI front end.
LIB_DIRS := util topo kernel vm proto guest scenario workload check runner results bpfmap
LIB_DIRS += report
LIB_DIRS += monitor
LIB_SRCS := $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c))
$(foreach d,$(LIB_DIRS),$(if $(wildcard src/$(d)/*.c),,$(error LIB_DIRS: no src/$(d)/*.c)))
CLI_SRCS := $(wildcard src/cli/*.c)
UNIT_SRCS := $(wildcard tests/unit/*.c)

LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o) $(BUILD)/gen/version.o
CLI_OBJS  := $(CLI_SRCS:%.c=$(BUILD)/%.o)
UNIT_OBJS := $(UNIT_SRCS:%.c=$(BUILD)/%.o)

.PHONY: FORCE all clean check check-unit check-vm check-fuzz fuzz fuzz-build fuzz-bins asan install format \
	bench examples
all: $(BUILD)/ktstr $(BUILD)/libktstr.a

Q := $(if $(V),,@)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) $(CFLAGS) -c $< -o $@

# The version stamp (kt_version, src/util/util.h) is a generated source that
# is rewritten only when `git describe` changes, so an incremental build
# after a commit or checkout names the right commit and an unchanged tree
# relinks nothing.
$(BUILD)/gen/version.c: FORCE
	@mkdir -p $(dir $@)
	@printf 'const char kt_version[] = "%s";\n' '$(KTSTR_VERSION)' >$@.tmp
	@if cmp -s $@.tmp $@; then rm -f $@.tmp; else mv $@.tmp $@; fi

$(BUILD)/gen/version.o: $(BUILD)/gen/version.c
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(KCFLAGS) $(CFLAGS) -c $< -o $@

FORCE:

# The kconfig fragment is embedded with .incbin.
$(BUILD)/src/kernel/kconfig_blob.o: src/kernel/ktstr.kconfig
$(BUILD)/src/report/assets.o: src/report/report.css src/report/report.js

$(BUILD)/libktstr.a: $(LIB_OBJS)
	@rm -f $@
	@$(if $(Q),echo "  AR      $@")
	$(Q)ar rcs $@ $^

$(BUILD)/ktstr: $(CLI_OBJS) $(BUILD)/libktstr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) $(LDSTATIC) -o $@ $(CLI_OBJS) $(BUILD)/libktstr.a $(LIBS)

$(BUILD)/unit-tests: $(UNIT_OBJS) $(BUILD)/libktstr.a
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(CFLAGS) -o $@ $(UNIT_OBJS) -Wl,--whole-archive $(BUILD)/libktstr.a \
		-Wl,--no-whole-archive $(LIBS)

# Example test suites (static test binaries linked with libktstr). They see
# only the public headers (include/), as a test outside this tree does.
EXAMPLES := $(BUILD)/examples/ktstr-examples $(BUILD)/tests/ktstr-vmtests
examples: $(EXAMPLES)

$(BUILD)/examples/ktstr-examples: examples/ktstr-examples.c $(BUILD)/libktstr.a
$(BUILD)/tests/ktstr-vmtests: tests/vm/vmtests.c $(BUILD)/libktstr.a
$(EXAMPLES):
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) -std=gnu11 -Iinclude $(WARN) -MMD -MP $(CFLAGS) $(LDSTATIC) -o $@ $< \
		$(BUILD)/libktstr.a $(LIBS)

# Synthetic sidecars for tests/unit/test_report.sh and bench/report_size.sh.
$(BUILD)/tests/report-fixture: tests/tools/report_fixture.c $(BUILD)/libktstr.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(KCFLAGS) $(CFLAGS) -o $@ $< $(BUILD)/libktstr.a $(LIBS)

# Fast host-only tests.
check-unit: $(BUILD)/unit-tests $(BUILD)/ktstr $(BUILD)/tests/report-fixture
	KTSTR_BIN=$(abspath $(BUILD)/ktstr) $(BUILD)/unit-tests
	@for t in tests/unit/test_*.sh; do echo "  TEST    $$t"; \
		MAKE="$(MAKE)" BUILD="$(BUILD)" CC="$(CC)" CFLAGS="$(CFLAGS)" LDSTATIC="$(LDSTATIC)" \
		KTSTR_BIN=$(abspath $(BUILD)/ktstr) $$t || exit 1; done

# Tests that boot VMs (need a cached kernel; see README).
check-vm: all examples
	@if [ -n "$(wildcard tests/vm/test_*.sh)" ]; then \
		KTSTR_BIN=$(abspath $(BUILD)/ktstr) tests/vm/run-all.sh; \
	else echo "no VM tests"; fi

check: check-unit check-fuzz check-vm

# Fuzz targets (tests/fuzz/fuzz_*.c, libFuzzer from clang) under ASan+UBSan,
# built in their own tree. `make check` runs each for FUZZ_CHECK_SECONDS on
# its seed corpus (tests/fuzz/corpus/NAME); `make fuzz FUZZ_SECONDS=600
# [FUZZ_TARGETS="elfstrip cpio"]` runs them for as long as asked.
FUZZ_CC            ?= clang
FUZZ_BUILD         ?= build-fuzz
FUZZ_CHECK_SECONDS ?= 3
FUZZ_SECONDS       ?= 60
FUZZ_ALL     := $(patsubst tests/fuzz/fuzz_%.c,%,$(wildcard tests/fuzz/fuzz_*.c))
FUZZ_TARGETS ?= $(FUZZ_ALL)
FUZZ_CFLAGS  := -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
		-fno-sanitize-recover=all -fsanitize=fuzzer-no-link

$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(BUILD)/libktstr.a
	@mkdir -p $(dir $@)
	@$(if $(Q),echo "  FUZZ    $@")
	$(Q)$(CC) $(KCFLAGS) $(CFLAGS) -fsanitize=fuzzer -o $@ $< $(BUILD)/libktstr.a $(LIBS)

fuzz-bins: $(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%)

fuzz-build:
	$(MAKE) BUILD=$(FUZZ_BUILD) CC=$(FUZZ_CC) LDSTATIC= CFLAGS="$(FUZZ_CFLAGS)" fuzz-bins

check-fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_CHECK_SECONDS) $(FUZZ_ALL)

fuzz: fuzz-build
	tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_TARGETS)

# Sanitizer build of the unit tests (dynamic link; ASan does not do -static).
# Any UBSan report stops the test that triggered it.
asan:
	$(MAKE) BUILD=build-asan LDSTATIC= \
		CFLAGS="-O1 -g -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer" check-unit

# The binary, the library, the public headers (include/ only) and ktstr.pc:
# a test builds with `cc -static t.c $(pkg-config --cflags --libs --static ktstr)`.
install: all
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(LIBDIR)/pkgconfig $(DESTDIR)$(INCLUDEDIR)/ktstr
	install -m 0755 $(BUILD)/ktstr $(DESTDIR)$(PREFIX)/bin/ktstr
	install -m 0644 $(BUILD)/libktstr.a $(DESTDIR)$(LIBDIR)/libktstr.a
	install -m 0644 include/ktstr.h $(DESTDIR)$(INCLUDEDIR)/ktstr.h
	install -m 0644 include/ktstr/*.h $(DESTDIR)$(INCLUDEDIR)/ktstr/
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
		-e 's|@INCLUDEDIR@|$(INCLUDEDIR)|' -e 's|@VERSION@|$(VERSION)|' \
		ktstr.pc.in >$(DESTDIR)$(LIBDIR)/pkgconfig/ktstr.pc

format:
	clang-format -i $(LIB_SRCS) $(CLI_SRCS) $(UNIT_SRCS) $(wildcard src/*/*.h include/*.h include/*/*.h)

clean:
	rm -rf $(BUILD) build-asan $(FUZZ_BUILD)

-include $(LIB_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(UNIT_OBJS:.o=.d) $(EXAMPLES:=.d) \
	$(FUZZ_ALL:%=$(BUILD)/fuzz/fuzz_%.d)
