#!/usr/bin/env bash
# Build kernel/knpu.ko out of tree against the resolved Debian 6.12 headers,
# with W=1. Extra arguments go to make (e.g. C=1 for sparse, clean).
#
# With KNPU_GUEST_KERNEL=debug it builds against the debug guest kernel's
# build directory instead (`make debug-kernel`), in a copy of kernel/ and
# uapi/ under $KNPU_DEBUG_MODULE_DIR, so the two modules never overwrite each
# other: $KNPU_DEBUG_MODULE_DIR/kernel/knpu.ko.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

moddir=$KNPU_ROOT/kernel
if [ "$KNPU_GUEST_KERNEL" = debug ]; then
	bash "$KNPU_ROOT/scripts/kernel/debug-kernel.sh"
	# shellcheck source=/dev/null
	. "$(knpu_kernel_env_file)"
	# Sources only (the build products of the Debian build stay out, this
	# build's own stay in); unchanged files keep their times, so the module
	# build stays incremental.
	knpu_apt_install rsync
	for part in kernel uapi; do
		mkdir -p "$KNPU_DEBUG_MODULE_DIR/$part"
		rsync -a --delete --exclude='*.o' --exclude='*.ko' --exclude='.*.cmd' --exclude='*.mod' \
			--exclude='*.mod.c' --exclude=Module.symvers --exclude=modules.order \
			"$KNPU_ROOT/$part/" "$KNPU_DEBUG_MODULE_DIR/$part/"
	done
	moddir=$KNPU_DEBUG_MODULE_DIR/kernel
else
	[ -f "$KNPU_KERNEL_ENV" ] || bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
	# shellcheck source=/dev/null
	. "$KNPU_KERNEL_ENV"
	[ -d "$KNPU_KHEADERS" ] || bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
fi
knpu_apt_install gcc make libelf-dev
case " $* " in *" C=1 "* | *" C=2 "*) knpu_apt_install sparse ;; esac

t0=$(date +%s)
log=$(mktemp)
trap 'rm -f "$log"' EXIT
set +e
make -C "$KNPU_KHEADERS" M="$moddir" W=1 CONFIG_DRM_ACCEL_KNPU=m -j"$(nproc)" "$@" 2>&1 |
	tee "$log"
rc=${PIPESTATUS[0]}
set -e
# Warning-free is part of the build: compiler (W=1) and sparse (C=1/2) alike.
if [ "$rc" -eq 0 ] && grep -q 'warning:' "$log"; then
	knpu_log "the module build has warnings"
	rc=1
fi
knpu_log "module build finished in $(($(date +%s) - t0)) s, exit $rc"
exit "$rc"
