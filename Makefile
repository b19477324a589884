# armorbox: `make` builds the static binary, `make test` runs every test.
TARGET  := x86_64-unknown-linux-musl
BIN     := target/$(TARGET)/release/armorbox
PREFIX  ?= /usr/local
CARGO   ?= cargo
SHELL   := bash

.PHONY: all build musl-target test test-vm install demo bench clean

all: build

# Always asks cargo: it knows when the binary is up to date.
build: musl-target
	$(CARGO) build --release --locked --target $(TARGET)
	@size=$$(stat -c %s $(BIN)); echo "built $(BIN): $$size bytes ($$((size / 1024)) KiB)"

musl-target:
	@rustup target list --installed | grep -qx $(TARGET) || rustup target add $(TARGET)

# The tests run the shipped static binary (ARMORBOX_BIN), not a debug build.
test: build
	tests/setup/prepare.sh
	set -o pipefail; ARMORBOX_BIN=$(abspath $(BIN)) $(CARGO) test --locked 2>&1 | tee target/test.log
	@awk '/^test result:/ { p += $$4; f += $$6; i += $$8 } END { printf "summary: %d passed, %d failed, %d skipped\n", p, f, i }' target/test.log

# Only the tests that boot the Debian 11 guest (qemu, TCG).
test-vm: build
	tests/setup/prepare.sh
	ARMORBOX_BIN=$(abspath $(BIN)) $(CARGO) test --locked --test vm_debian11 --test armor_node_vm

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
