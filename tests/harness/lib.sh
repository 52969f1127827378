# shellcheck shell=bash
# Shared by the guest harness scripts (tests/harness/*.sh). Source it.
# shellcheck source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

KNPU_HARNESS=$KNPU_ROOT/tests/harness
# Build directory (CMake's, where guest results land); make passes BUILD.
KNPU_BUILD=${KNPU_BUILD:-$KNPU_ROOT/build}
case $KNPU_BUILD in /*) ;; *) KNPU_BUILD=$KNPU_ROOT/$KNPU_BUILD ;; esac
# The driver module the guest loads (built by `make module`).
KNPU_MODULE=${KNPU_MODULE:-$KNPU_ROOT/kernel/knpu.ko}
export KNPU_HARNESS KNPU_BUILD KNPU_MODULE

# knpu_load_kernel_env: sources $KNPU_KERNEL_ENV (written by `make guest-kernel`).
knpu_load_kernel_env() {
	[ -f "$KNPU_KERNEL_ENV" ] ||
		knpu_die "$KNPU_KERNEL_ENV missing: run 'make guest-kernel' first"
	# shellcheck source=/dev/null
	. "$KNPU_KERNEL_ENV"
	[ -f "${KNPU_VMLINUZ:-}" ] || knpu_die "guest kernel image '${KNPU_VMLINUZ:-}' missing: run 'make guest-kernel'"
	[ -d "${KNPU_KMODDIR:-}" ] || knpu_die "guest module tree '${KNPU_KMODDIR:-}' missing: run 'make guest-kernel'"
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

# Kernel log lines that fail a guest run even when the program passed.
KNPU_SPLAT_RE='Oops|BUG:|WARNING:|Call Trace:|cut here \]|KASAN|UBSAN|kernel BUG at|general protection fault|Kernel panic|Unable to handle kernel|NULL pointer dereference|possible circular locking|possible recursive locking|inconsistent lock state|suspicious RCU usage|DEBUG_LOCKS_WARN_ON|soft lockup|hard LOCKUP|blocked for more than|refcount_t:|list_add corruption|list_del corruption|stack-protector|stack guard page'
