# armorbox: `make` builds the static binary, `make test` runs every test.
TARGET  := x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/armorbox
PREFIX  ?= /usr/local
CARGO   ?= cargo
SHELL   := bash

.PHONY: all build musl-target pgo-profile test test-vm compat install demo bench clean

all: build

# Profile-guided optimisation: an instrumented build runs benches/pgo-train.sh, and the
# release build is optimised for the branches it took (compression 0.89-0.94 of the
# time without; see the README). PGO=0 builds without it, in half the time.
PGO      ?= 1
PGO_DIR  := $(abspath target/pgo)
PGO_BIN  := $(PGO_DIR)/$(TARGET)/release/armorbox
PROFDATA  = $(shell rustc --print sysroot)/lib/rustlib/$(shell rustc -vV | sed -n 's/^host: //p')/bin/llvm-profdata

# Always asks cargo: it knows when the binary is up to date. The profile's name holds
# its hash, so a new profile changes the flags, and cargo rebuilds when they change
# (not when a file they name does).
build: musl-target $(if $(filter 1,$(PGO)),pgo-profile)
	@profile=$$([ "$(PGO)" = 1 ] && ls $(PGO_DIR)/armorbox-*.profdata 2> /dev/null); \
	    echo "$(CARGO) build --release --locked --target $(TARGET) $${profile:+(profile-guided: $$profile)}"; \
	    RUSTFLAGS="$${profile:+-Cprofile-use=$$profile}" $(CARGO) build --release --locked --target $(TARGET) && \
	    size=$$(stat -c %s $(BIN)) && \
	    kind=$${profile:+profile-guided} && \
	    echo "built $(BIN): $$size bytes ($$((size / 1024)) KiB, $${kind:-without PGO})"

musl-target:
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)

# Retrains only when the instrumented binary changed. Without llvm-tools (rustup needs
# the network to add them) the build goes on without PGO, and says so.
pgo-profile: musl-target
	@[ -x $(PROFDATA) ] || rustup component add llvm-tools || true
	@[ -x $(PROFDATA) ] || echo "make: no $(PROFDATA) (rustup's llvm-tools): building without PGO"
	@if [ -x $(PROFDATA) ]; then \
	    RUSTFLAGS="-Cprofile-generate=$(PGO_DIR)/raw" $(CARGO) build --release --locked --target $(TARGET) --target-dir $(PGO_DIR) && \
	    if ! ls $(PGO_DIR)/armorbox-*.profdata > /dev/null 2>&1 || [ $(PGO_BIN) -nt "$$(ls $(PGO_DIR)/armorbox-*.profdata)" ]; then \
	        rm -rf $(PGO_DIR)/raw $(PGO_DIR)/armorbox-*.profdata && \
	        benches/pgo-train.sh $(PGO_BIN) $(PGO_DIR)/work && \
	        $(PROFDATA) merge -o $(PGO_DIR)/merged.profdata $(PGO_DIR)/raw && \
	        mv $(PGO_DIR)/merged.profdata $(PGO_DIR)/armorbox-$$(sha256sum $(PGO_DIR)/merged.profdata | cut -c1-12).profdata && \
	        rm -rf $(PGO_DIR)/work $(PGO_DIR)/raw; \
	    fi; \
	fi

# The tests run the shipped static binary (ARMORBOX_BIN), not a debug build.
test: build
	tests/setup/prepare.sh
	set -o pipefail; ARMORBOX_BIN=$(abspath $(BIN)) $(CARGO) test --locked --no-fail-fast 2>&1 | tee target/test.log
	@awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, i }' target/test.log

# Only the tests that boot the Debian 11 guest (qemu, TCG).
test-vm: build
	tests/setup/prepare.sh
	ARMORBOX_BIN=$(abspath $(BIN)) $(CARGO) test --locked --test vm_debian11 --test armor_node_vm

# gocryptfs 2.3's own integration suite against the static binary (../shared/gocryptfs-suite;
# tests/compat/known-failures.txt lists what does not pass yet).
compat: build
	tests/compat/run.sh $(abspath $(BIN))

install: build
	install -d $(DESTDIR)$(PREFIX)/bin
	install -m 0755 $(BIN) $(DESTDIR)$(PREFIX)/bin/armorbox
	$(DESTDIR)$(PREFIX)/bin/armorbox --install -s $(DESTDIR)$(PREFIX)/bin

# Speed against the real peers (gocryptfs, 7zz), as ratios; not part of make test.
bench: build
	python3 benches/run.py $(abspath $(BIN))

demo: build
	tests/demo/demo.sh $(abspath $(BIN))

clean:
	$(CARGO) clean
