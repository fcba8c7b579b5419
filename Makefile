# sockgrade: one non-recursive make. `make` builds, `make test` runs the unit tests and the
# self-test, `make run` grades the demo class, `make bench` prints the harness's figures.
# V=1 shows full command lines; SANITIZE=address,undefined builds with sanitizers;
# WERROR=1 (set by CI) turns warnings into errors.

SHELL := /bin/bash
PKG_CONFIG ?= pkg-config
CC ?= cc
PREFIX ?= /usr/local
DESTDIR ?=
VERSION := 0.1.0

PKGS := jansson libseccomp
CFLAGS ?= -O2 -g
WARN := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wformat=2 \
	-Wno-format-nonliteral
ifeq ($(WERROR),1)
WARN += -Werror
endif
ifneq ($(SANITIZE),)
CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer
LDFLAGS += -fsanitize=$(SANITIZE)
endif
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) -DSOCKGRADE_VERSION='"$(VERSION)"' \
	-DSOCKGRADE_DATADIR='"$(DATADIR)"' -Iharness \
	$(shell $(PKG_CONFIG) --cflags $(PKGS) 2>/dev/null)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS) 2>/dev/null)
CHECK_LIBS = $(shell $(PKG_CONFIG) --libs check 2>/dev/null)
# Where an installed sockgrade finds its labs; a build tree uses its own labs/.
DATADIR ?= $(PREFIX)/share/sockgrade

ifeq ($(V),1)
Q :=
else
Q := @
endif

B := build
SRCS := $(wildcard harness/*.c)
OBJS := $(SRCS:harness/%.c=$(B)/obj/%.o)
LIB_OBJS := $(filter-out $(B)/obj/main.o,$(OBJS))
TEST_SRCS := $(wildcard harness/tests/*.c)
TEST_OBJS := $(TEST_SRCS:harness/tests/%.c=$(B)/obj/tests/%.o)

.PHONY: all deps test run demo bench install uninstall valgrind clean
all: $(B)/sockgrade

$(B)/obj/%.o: harness/%.c $(wildcard harness/*.h) | deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(B)/obj/tests/%.o: harness/tests/%.c $(wildcard harness/*.h harness/tests/*.h) | deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags check 2>/dev/null) -c -o $@ $<

$(B)/sockgrade: $(OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/check_sockgrade: $(LIB_OBJS) $(TEST_OBJS)
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS) $(CHECK_LIBS)

# Installs the Debian packages the build needs when they are missing (as root), or prints
# the one apt-get line to run and stops.
deps:
	$(Q)./.ci/deps

# The demo class: every reference, and every fixture assembled over its lab's reference.
demo: $(B)/sockgrade
	$(Q)./fixtures/assemble $(B)/demo

# Every lab's demo class, graded; the fixtures are meant to fail, so only a status above 1
# (a usage error or a fault of the harness) fails `make run`.
run: demo
	$(Q)for lab in $(B)/demo/*/; do \
		$(B)/sockgrade grade "$$(basename $$lab)" $$lab* -q || [ $$? -eq 1 ] || exit 1; \
		echo; \
	done

test: $(B)/sockgrade $(B)/check_sockgrade demo
	$(Q)SOCKGRADE=$(B)/sockgrade SOCKGRADE_DEMO=$(B)/demo $(B)/check_sockgrade

# Memcheck: the suites of pure code in one process each, then sockgrade grading every
# reference (the main process is checked; the forked workers and sandboxes are silenced,
# and so is valgrind's complaint that it does not know seccomp(2), syscall 317).
VALGRIND := valgrind --error-exitcode=1 --leak-check=full --errors-for-leak-kinds=definite \
	--child-silent-after-fork=yes -q
valgrind: $(B)/sockgrade $(B)/check_sockgrade
	$(Q)for suite in lab result report; do \
		CK_FORK=no CK_RUN_SUITE=$$suite $(VALGRIND) $(B)/check_sockgrade || exit 1; done
	$(Q)for lab in $(notdir $(wildcard reference/*)); do SOCKGRADE_TIMEOUT_MULTIPLIER=4 $(VALGRIND) $(B)/sockgrade \
		grade $$lab reference/$$lab -q -o $(B)/valgrind-$$lab.json 2>&1 \
		| { grep -v -e 'syscall: 317' -e 'your own handler' -e README_MISSING_SYSCALL \
		-e 'consider this a bug' -e valgrind.org/support || true; }; \
		[ $${PIPESTATUS[0]} -eq 0 ] || exit 1; done

$(B)/bench_sockgrade: $(LIB_OBJS) $(B)/obj/bench/bench.o
	@$(if $(Q),echo "  LD      $@")
	$(Q)$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(B)/obj/bench/%.o: harness/bench/%.c $(wildcard harness/*.h) | deps
	@mkdir -p $(@D)
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(ALL_CFLAGS) -c -o $@ $<

bench: $(B)/bench_sockgrade
	$(Q)$(B)/bench_sockgrade

install: $(B)/sockgrade
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(DATADIR)/labs
	install -m 755 $(B)/sockgrade $(DESTDIR)$(PREFIX)/bin/sockgrade
	cp -r labs/. $(DESTDIR)$(DATADIR)/labs/

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/sockgrade
	rm -rf $(DESTDIR)$(DATADIR)

clean:
	rm -rf $(B)
