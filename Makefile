# smol-ssh: `make demo` shows it working, `make test` proves it. See README.md.

CBINDGEN_VERSION := 0.29.4
CARGO ?= cargo
CC ?= cc
CXX ?= c++
CFLAGS_STRICT := -std=c11 -Wall -Wextra -Werror -pedantic
CBINDGEN := $(shell command -v cbindgen 2>/dev/null || echo $${CARGO_HOME:-$$HOME/.cargo}/bin/cbindgen)
RELEASE_DIR := target/release
TEST_ACCOUNT := smolssh
VERSION := $(shell sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -n 1)
# The ABI's major version: the SONAME is libsmol_ssh.so.$(SOVERSION). Kept equal to build.rs.
SOVERSION := 0
PREFIX ?= /usr/local
DESTDIR ?=
NATIVE_LIBS := target/native-static-libs
# The Python `make install` puts the smol_ssh package under (its site-packages in PREFIX).
PYTHON ?= python3

export CBINDGEN_VERSION
export CBINDGEN

.PHONY: all deps build release header demo test smoke bench bench-deps check-memory memory-checks binding-tests install clean-test-account clean

all: release

deps:
	@scripts/deps.sh

build:
	$(CARGO) build

release: $(NATIVE_LIBS)
	$(CARGO) build --release --lib
	@ln -sf libsmol_ssh.so $(RELEASE_DIR)/libsmol_ssh.so.$(SOVERSION)

# What a program linking libsmol_ssh.a needs besides it (rustc's native-static-libs), for
# smol-ssh.pc and the CMake package; asked again only when the dependencies change.
$(NATIVE_LIBS): Cargo.toml Cargo.lock build.rs
	@mkdir -p $(dir $@)
	@scripts/native-static-libs.sh target/native-static-libs-probe > $@.tmp && mv $@.tmp $@

## Installs what `make` built under $(DESTDIR)$(PREFIX), without rebuilding (so that
## `make && sudo make install` compiles as you; on a fresh clone it builds first): headers, the shared library with its SONAME
## links, the static library, smol-ssh.pc, the CMake package (find_package(smol-ssh)) and the
## Python package; runs ldconfig as root for the system's library folders. See scripts/install.sh.
# Builds first only when nothing was built (a fresh clone); a build that exists is installed
# as it is, never rebuilt (run `make` to rebuild).
install: $(if $(and $(wildcard $(RELEASE_DIR)/libsmol_ssh.so),$(wildcard $(NATIVE_LIBS))),,release)
	@PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) VERSION=$(VERSION) SOVERSION=$(SOVERSION) \
		RELEASE_DIR=$(RELEASE_DIR) NATIVE_LIBS=$(NATIVE_LIBS) PYTHON=$(PYTHON) scripts/install.sh

## Regenerates include/smol_ssh.h with the pinned cbindgen (commit the result).
header: deps
	$(CBINDGEN) --quiet --config cbindgen.toml --crate smol-ssh --output include/smol_ssh.h

build/demo: examples-c/demo.c include/smol_ssh.h release
	@mkdir -p build
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ -L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lsmol_ssh

build/smoke: examples-c/smoke.c include/smol_ssh.h release
	@mkdir -p build
	$(CC) $(CFLAGS_STRICT) -Iinclude $< -o $@ -L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lsmol_ssh

## Runs the C demo against SMOL_SSH_HOST if set, else against a private loopback sshd.
demo: deps build/demo
	@if [ -n "$$SMOL_SSH_HOST" ]; then ./build/demo; \
	else status=0; $(CARGO) run --quiet --release --example with_sshd -- ./build/demo || status=$$?; \
	$(MAKE) --no-print-directory clean-test-account; exit $$status; fi

## smol-ssh beside libssh, Go x/crypto/ssh, paramiko, asyncssh, raw ssh2 and OpenSSH
## ControlMaster, interleaved in one run against a private sshd; writes bench/results/latest.md
## and latest.svg. BENCH_ROUNDS (default 3) and BENCH_HANDLES (default 1,100,1000) tune it.
bench: deps bench-deps release
	$(CARGO) build --quiet --release --example bench
	@status=0; ./target/release/examples/bench || status=$$?; \
	$(MAKE) --no-print-directory clean-test-account; exit $$status

bench-deps:
	@scripts/bench-deps.sh

## The C smoke program against a private sshd (also part of `make test`).
smoke: deps build/smoke
	@status=0; $(CARGO) run --quiet --release --example with_sshd -- ./build/smoke || status=$$?; \
	$(MAKE) --no-print-directory clean-test-account; exit $$status

## Everything CI runs: unit and integration tests against a real sshd, the header check, the
## C smoke program and the C++ header check, the C suite under valgrind and ASan, and the
## installed library from C (dynamic, static), C++, Go and Python. As root the test account is
## removed afterwards.
test: deps
	@status=0; \
	$(CARGO) test || status=$$?; \
	[ $$status -ne 0 ] || $(MAKE) --no-print-directory memory-checks || status=$$?; \
	[ $$status -ne 0 ] || $(MAKE) --no-print-directory binding-tests || status=$$?; \
	$(MAKE) --no-print-directory clean-test-account; \
	exit $$status

## The installed library from every runtime: pkg-config and CMake (C dynamic and static, C++),
## Python (the checkout, make install's package, pip install and a wheel in fresh venvs, the
## reference's own examples through smol_ssh.compat), Go (the binding and the example module),
## and the README's examples, all against private sshds. One install serves them all.
binding-tests: release
	@rm -rf build/prefix
	@$(MAKE) --no-print-directory -s install PREFIX=$(CURDIR)/build/prefix >/dev/null
	SMOL_SSH_PREFIX=$(CURDIR)/build/prefix tests/install.sh
	SMOL_SSH_PREFIX=$(CURDIR)/build/prefix tests/python.sh
	SMOL_SSH_PREFIX=$(CURDIR)/build/prefix tests/reference_examples.sh
	SMOL_SSH_PREFIX=$(CURDIR)/build/prefix tests/go.sh
	SMOL_SSH_PREFIX=$(CURDIR)/build/prefix tests/readme_examples.sh

## The C smoke program under valgrind (0 errors, 0 bytes definitely lost) and under
## AddressSanitizer + UBSan + LeakSanitizer, and the C++ example (the whole smol_ssh.hpp) under
## the sanitizers, each against a private sshd.
check-memory: deps
	@status=0; $(MAKE) --no-print-directory memory-checks || status=$$?; \
	$(MAKE) --no-print-directory clean-test-account; exit $$status

memory-checks: release
	@mkdir -p build
	$(CC) $(CFLAGS_STRICT) -g -Iinclude examples-c/smoke.c -o build/smoke-valgrind \
		-L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lsmol_ssh
	$(CC) $(CFLAGS_STRICT) -g -fsanitize=address,undefined -fno-omit-frame-pointer -Iinclude \
		examples-c/smoke.c -o build/smoke-asan \
		-L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lsmol_ssh
	$(CARGO) build --quiet --release --example with_sshd
	./target/release/examples/with_sshd valgrind --quiet --error-exitcode=99 --leak-check=full \
		--errors-for-leak-kinds=definite --show-leak-kinds=definite ./build/smoke-valgrind \
		> build/valgrind.log 2>&1 || { cat build/valgrind.log; exit 1; }
	@grep -q "PASSED: 0 failure" build/valgrind.log && echo "valgrind: smoke passed, 0 errors, 0 bytes definitely lost"
	ASAN_OPTIONS=detect_leaks=1:exitcode=98 UBSAN_OPTIONS=halt_on_error=1 \
		./target/release/examples/with_sshd ./build/smoke-asan > build/asan.log 2>&1 \
		|| { cat build/asan.log; exit 1; }
	@grep -q "PASSED: 0 failure" build/asan.log && echo "asan+ubsan+lsan: smoke passed, no reports"
	$(CXX) -std=c++17 -Wall -Wextra -Werror -pedantic -g -fsanitize=address,undefined \
		-fno-omit-frame-pointer -Iinclude examples-c/example.cpp -o build/example-cpp-asan \
		-L$(RELEASE_DIR) -Wl,-rpath,$(CURDIR)/$(RELEASE_DIR) -lsmol_ssh
	ASAN_OPTIONS=detect_leaks=1:exitcode=98 UBSAN_OPTIONS=halt_on_error=1 \
		./target/release/examples/with_sshd ./build/example-cpp-asan > build/asan-cpp.log 2>&1 \
		|| { cat build/asan-cpp.log; exit 1; }
	@grep -q "PASSED: 0 failure" build/asan-cpp.log && echo "asan+ubsan+lsan: the C++ example passed, no reports"

clean-test-account:
	@scripts/remove-test-account.sh $(TEST_ACCOUNT)

clean:
	$(CARGO) clean
	rm -rf build
