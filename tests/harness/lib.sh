# shellcheck shell=bash
# Shared by the guest harness scripts (tests/harness/*.sh). Source it.
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

KNPU_HARNESS=$KNPU_ROOT/tests/harness
# Build directory (CMake's, where guest results land); make passes BUILD.
KNPU_BUILD=${KNPU_BUILD:-$KNPU_ROOT/build}
case $KNPU_BUILD in /*) ;; *) KNPU_BUILD=$KNPU_ROOT/$KNPU_BUILD ;; esac
# The driver module the guest loads (built by `make module`, or by `make
# debug-module` for KNPU_GUEST_KERNEL=debug).
if [ "$KNPU_GUEST_KERNEL" = debug ]; then
	KNPU_MODULE=${KNPU_MODULE:-$KNPU_DEBUG_MODULE_DIR/kernel/knpu.ko}
else
	KNPU_MODULE=${KNPU_MODULE:-$KNPU_ROOT/kernel/knpu.ko}
fi
export KNPU_HARNESS KNPU_BUILD KNPU_MODULE

# knpu_load_kernel_env: sources the selected guest kernel's kernel.env
# ($KNPU_KERNEL_ENV from `make guest-kernel`, or the debug kernel's from
# `make debug-kernel` when KNPU_GUEST_KERNEL=debug).
knpu_load_kernel_env() {
	local env target=guest-kernel
	env=$(knpu_kernel_env_file)
	[ "$KNPU_GUEST_KERNEL" = debug ] && target=debug-kernel
	[ -f "$env" ] || knpu_die "$env missing: run 'make $target' first"
	# shellcheck source=/dev/null
	. "$env"
	[ -f "${KNPU_VMLINUZ:-}" ] || knpu_die "guest kernel image '${KNPU_VMLINUZ:-}' missing: run 'make $target'"
	[ -d "${KNPU_KMODDIR:-}" ] || knpu_die "guest module tree '${KNPU_KMODDIR:-}' missing: run 'make $target'"
}

# knpu_build_test_program OUT SRC [GCC_FLAGS...]: a C test program of the
# driver's uapi (tests/kernel/*.c) for the guest. Written under a temporary
# name and renamed, so that a test running beside this one (ctest -j) that
# uses the same program never executes a half-written file.
knpu_build_test_program() {
	local out=$1 src=$2
	shift 2
	knpu_apt_install gcc libdrm-dev
	mkdir -p "$(dirname "$out")"
	gcc -O2 -g -Wall -Wextra -Wno-missing-field-initializers "$@" -o "$out.$$.tmp" \
		-I"$KNPU_ROOT/uapi" -I/usr/include/libdrm "$src" || {
		rm -f "$out.$$.tmp"
		knpu_die "cannot build $out from $src"
	}
	mv -f "$out.$$.tmp" "$out"
}

# knpu_python: a python3 from Debian (installed by name if missing).
knpu_python() {
	if [ -x /usr/bin/python3 ]; then
		/usr/bin/python3 "$@"
	else
		knpu_apt_install python3 >&2
		/usr/bin/python3 "$@"
	fi
}

# The first line the guest's /init prints on the console (tests/harness/init):
# a kernel splat before it happened while the kernel booted, before knpu.ko or
# the test ran.
KNPU_INIT_MARKER='\[guest\] init started'

# Kernel log lines that fail a guest run even when the program passed.
KNPU_SPLAT_RE='Oops|BUG:|WARNING:|Call Trace:|cut here \]|KASAN|UBSAN|kernel BUG at|general protection fault|Kernel panic|Unable to handle kernel|NULL pointer dereference|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|soft lockup|hard LOCKUP|blocked for more than|refcount_t:|list_add corruption|list_del corruption|stack-protector|stack guard page|DMA-API: .*device driver|DMA-API: debugging out of memory'

# expect NAME WANT_RC PATTERN [guest-run options] -- CMD...: runs CMD in a
# guest without the driver and checks that guest-run.sh fails it with WANT_RC
# and PATTERN in its output (the harness's selftests of its failure paths);
# the output is in $KNPU_BUILD/guest/NAME.log. Counts a mismatch in $fails.
expect() {
	local name=$1 want=$2 pat=$3 rc=0 log
	shift 3
	log=$KNPU_BUILD/guest/$name.log
	mkdir -p "$(dirname "$log")"
	"$KNPU_HARNESS/guest-run.sh" --quiet --name "$name" --devices 0 --no-module --timeout 180 "$@" >"$log" 2>&1 || rc=$?
	if [ "$rc" != "$want" ]; then
		echo "not ok $name: guest-run.sh exited $rc, expected $want"
		sed 's/^/    /' "$log"
		fails=$((fails + 1))
	elif ! grep -qE "$pat" "$log"; then
		echo "not ok $name: output lacks /$pat/"
		sed 's/^/    /' "$log"
		fails=$((fails + 1))
	else
		echo "ok $name (exit $rc, output has /$pat/)"
	fi
}
