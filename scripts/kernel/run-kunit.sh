#!/usr/bin/env bash
# Run the knpu KUnit suites with the kernel's own kunit.py (x86_64 under QEMU).
#
# The driver is dropped into an overlay of linux-source-6.12 at
# drivers/accel/knpu (hard links to the pristine tree, plus real copies of the
# few files that change), so the overlay costs no disk and the pristine tree
# stays untouched. The kunit build directory is keyed by the kernel source
# version and reused, so a warm run only rebuilds the driver.
#
# Usage: run-kunit.sh [--build-only] [extra kunit.py args...]
#        --build-only builds the kunit kernel without running it, so that
#        `make test` can build it before CTest starts its timed tests.
# Env:   KNPU_KUNIT_SYSTEM_QEMU=1  use Debian's qemu-system-x86 when the
#                                  project's QEMU ($KNPU_QEMU_BIN) is not built.
#        KNPU_KUNIT_KCONFIG=FILE   kunitconfig to use (default kernel/.kunitconfig).
#        KNPU_KUNIT_BUILD_DIR=DIR  build directory (default: cached, keyed by source
#                                  version and flavour).
#        KNPU_KUNIT_KASAN=1        also build with KASAN (its own build directory).
# Exit status is kunit.py's: non-zero when a test fails or the build breaks.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

mode=run
if [ "${1:-}" = --build-only ]; then
	mode=build
	shift
fi

if [ ! -f "$KNPU_KERNEL_ENV" ] || [ ! -f "$KNPU_LINUX_SRC/.knpu-version" ]; then
	bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
fi
knpu_apt_install gcc make bc flex bison libelf-dev libssl-dev python3 cpio

srcver=$(cat "$KNPU_LINUX_SRC/.knpu-version")
overlay=$KNPU_CACHE/kunit-src
# The tests run under lockdep and with sleep-in-atomic checks; KASAN on
# request (a separate, slower build).
debug_opts=(CONFIG_DEBUG_KERNEL=y CONFIG_PROVE_LOCKING=y CONFIG_DEBUG_ATOMIC_SLEEP=y)
flavour=lockdep
# Left out: ACPI (ACPICA and its drivers), a fifth of the objects kunit.py's
# x86_64 kernel would build and nothing the suites use; the kernel boots on
# qboot's MP table (docs/testing.md, "The KUnit kernel").
trim_opts=(CONFIG_ACPI=n)
if [ "${KNPU_KUNIT_KASAN:-0}" = 1 ]; then
	debug_opts+=(CONFIG_KASAN=y CONFIG_KASAN_GENERIC=y)
	flavour=lockdep-kasan
fi
builddir=${KNPU_KUNIT_BUILD_DIR:-$KNPU_CACHE/kunit-build-$srcver-x86_64-$flavour}
kunitconfig=${KNPU_KUNIT_KCONFIG:-$KNPU_ROOT/kernel/.kunitconfig}

# QEMU: ours, found through PATH as qemu-system-x86_64 (kunit.py calls it so).
if [ -x "$KNPU_QEMU_BIN" ]; then
	PATH=$(dirname "$KNPU_QEMU_BIN"):$PATH
elif [ "${KNPU_KUNIT_SYSTEM_QEMU:-0}" = 1 ]; then
	knpu_apt_install qemu-system-x86
else
	knpu_die "$KNPU_QEMU_BIN not built: run 'make qemu' (or set KNPU_KUNIT_SYSTEM_QEMU=1)"
fi
export PATH

# One run at a time: runs share the overlay tree.
exec 9>"$KNPU_CACHE/kunit.lock"
flock 9

# Overlay: hard links of the pristine tree, rebuilt when the source changes.
if [ "$(cat "$overlay/.knpu-version" 2>/dev/null)" != "$srcver" ]; then
	knpu_log "creating kunit overlay tree $overlay"
	rm -rf "$overlay"
	cp -al "$KNPU_LINUX_SRC" "$overlay" 2>/dev/null || {
		rm -rf "$overlay"
		cp -a "$KNPU_LINUX_SRC" "$overlay"
	}
	# Files edited below must not share an inode with the pristine tree.
	for f in drivers/accel/Kconfig drivers/accel/Makefile; do
		cp --remove-destination "$KNPU_LINUX_SRC/$f" "$overlay/$f"
	done
	echo 'source "drivers/accel/knpu/Kconfig"' >>"$overlay/drivers/accel/Kconfig"
	# shellcheck disable=SC2016 # a make variable, not a shell one
	echo 'obj-$(CONFIG_DRM_ACCEL_KNPU) += knpu/' >>"$overlay/drivers/accel/Makefile"
	echo "$srcver" >"$overlay/.knpu-version"
fi

# sync_file SRC DST: copy only when the content differs, so make's timestamps
# only see real changes and the warm build stays incremental.
sync_file() {
	cmp -s "$1" "$2" && return 0
	mkdir -p "$(dirname "$2")"
	cp "$1" "$2.tmp" && mv "$2.tmp" "$2"
}
dst=$overlay/drivers/accel/knpu
mkdir -p "$dst"
(cd "$KNPU_ROOT/kernel" && find . -type f \( -name '*.[ch]' -o -name Kconfig -o -name Makefile \
	-o -name Kbuild -o -name .kunitconfig \) -print) | sort >"$KNPU_CACHE/kunit-files.new"
while read -r f; do
	sync_file "$KNPU_ROOT/kernel/$f" "$dst/$f"
done <"$KNPU_CACHE/kunit-files.new"
# Drop files that were removed from kernel/.
(cd "$dst" && find . -type f -print) | sort | comm -13 "$KNPU_CACHE/kunit-files.new" - |
	while read -r f; do rm -f "$dst/$f"; done
if [ -f "$KNPU_ROOT/uapi/drm/knpu_accel.h" ]; then
	sync_file "$KNPU_ROOT/uapi/drm/knpu_accel.h" "$overlay/include/uapi/drm/knpu_accel.h"
fi

mkdir -p "$builddir"
cd "$overlay"
knpu_log "kunit: build dir $builddir, QEMU $(command -v qemu-system-x86_64)"
t0=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
kunit_args=(--arch=x86_64 --kunitconfig="$kunitconfig" --build_dir="$builddir"
	--jobs="${KNPU_KUNIT_JOBS:-2}" "${debug_opts[@]/#/--kconfig_add=}" "${trim_opts[@]/#/--kconfig_add=}")
# no_timer_check: on a loaded host the TCG guest can miss the early IO-APIC
# timer check's ticks and panic (see tests/harness/guest-run.sh).
[ "$mode" = build ] || kunit_args+=(--timeout="${KNPU_KUNIT_TIMEOUT:-300}"
	--kernel_args=no_timer_check)
python3 tools/testing/kunit/kunit.py "$mode" "${kunit_args[@]}" "$@" 2>&1 | tee "$log"
rc=${PIPESTATUS[0]}
set -e
# The driver must build warning-free here too.
if grep -q 'drivers/accel/knpu/.*warning:' "$log"; then
	knpu_log "kunit: the driver built with warnings"
	[ "$rc" -ne 0 ] || rc=1
fi
if [ "$mode" = build ]; then
	knpu_log "kunit: kernel built in $(($(date +%s) - t0)) s, exit $rc"
	exit "$rc"
fi
# A passing test that left a lockdep report, a warning or a KASAN report in
# the kernel log (kunit.py keeps it in test.log) is a failure too.
splat='WARNING:|BUG:|possible circular locking|inconsistent lock state|possible recursive locking|sleeping function called from invalid context|KASAN:|Oops|Call Trace:'
if [ -f "$builddir/test.log" ] && grep -Eq "$splat" "$builddir/test.log"; then
	knpu_log "kunit: kernel log splat:"
	grep -E -A25 "$splat" "$builddir/test.log" | head -n 80 >&2
	[ "$rc" -ne 0 ] || rc=1
fi
knpu_log "kunit: finished in $(($(date +%s) - t0)) s, exit $rc"
# kunit.py's summary, e.g. "Ran 12 tests: passed: 11, failed: 1", as the
# closing line CI reads.
summary=$(sed -n 's/.*Testing complete\. Ran [0-9]* tests: //p' "$log" | tail -n1)
passed=$(sed -n 's/.*passed: \([0-9]*\).*/\1/p' <<<"$summary")
failed=$(sed -n 's/.*failed: \([0-9]*\).*/\1/p' <<<"$summary")
echo "kunit: ${passed:-0} passed, ${failed:-0} failed"
exit "$rc"
