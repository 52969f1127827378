#!/usr/bin/env bash
# Build (or reuse) the debug guest kernel: linux-source-6.12 with KASAN,
# lockdep (PROVE_LOCKING, PROVE_RCU), DEBUG_ATOMIC_SLEEP, kmemleak, debug
# objects and DMA-API debugging, plus only what the harness and knpu.ko need
# (scripts/kernel/debug-guest.config over allnoconfig: nothing else is
# built, so the KASAN build stays short on 2 cores).
#
# Cached in $(knpu_debug_kernel_dir) (keyed by the source version, the
# fragment, the driver's Kconfig and this script):
#   src/      hard links of $KNPU_LINUX_SRC, plus drivers/accel/knpu/Kconfig
#             (the driver's own, so its selects pull in the DRM helpers it
#             needs; nothing of the driver is built in the tree)
#   build/    the O= build directory: bzImage, and what an out-of-tree
#             module builds against (scripts/kernel/build-module.sh)
#   modroot/  modules_install output (the DRM helpers as modules, depmod'ed)
#   kernel.env  KNPU_KABI, KNPU_VMLINUZ, KNPU_KMODDIR, KNPU_KHEADERS for the
#             harness with KNPU_GUEST_KERNEL=debug
# A second run with the same inputs only checks. An interrupted build resumes
# incrementally.
#
# Env: KNPU_KERNEL_JOBS (2), parallel make jobs.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

if [ ! -f "$KNPU_LINUX_SRC/.knpu-version" ]; then
	bash "$KNPU_ROOT/scripts/kernel/guest-kernel.sh"
fi
dir=$(knpu_debug_kernel_dir)
if [ -f "$dir/.done" ]; then
	knpu_log "debug kernel: cached in $dir"
	exit 0
fi
knpu_apt_install gcc make bc flex bison libelf-dev libssl-dev kmod cpio

# One build per directory at a time (make test and a shell, two trees).
exec 9>"$dir.lock"
flock 9
if [ -f "$dir/.done" ]; then
	knpu_log "debug kernel: cached in $dir"
	exit 0
fi
t0=$(date +%s)
src=$dir/src
build=$dir/build
if [ ! -f "$src/.knpu-overlay" ]; then
	rm -rf "$src"
	mkdir -p "$src"
	# The tree's contents ("/."): a cache whose source directory is a
	# symlink would otherwise get a copy of the link, and the Kconfig edit
	# below would reach the pristine tree.
	cp -al "$KNPU_LINUX_SRC/." "$src" 2>/dev/null || {
		rm -rf "$src"
		mkdir -p "$src"
		cp -a "$KNPU_LINUX_SRC/." "$src"
	}
	# Edited here, so it must not share its inode with the pristine tree.
	cp --remove-destination "$KNPU_LINUX_SRC/drivers/accel/Kconfig" "$src/drivers/accel/Kconfig"
	echo 'source "drivers/accel/knpu/Kconfig"' >>"$src/drivers/accel/Kconfig"
	mkdir -p "$src/drivers/accel/knpu"
	cp "$KNPU_ROOT/kernel/Kconfig" "$src/drivers/accel/knpu/Kconfig"
	touch "$src/.knpu-overlay"
fi

# The fragment over allnoconfig. The release names the build, so an
# initramfs or a module built against another debug kernel never matches it.
mkdir -p "$build"
key=${dir##*-}
{
	cat "$KNPU_DEBUG_CONFIG"
	echo "CONFIG_LOCALVERSION=\"-knpu-debug-$key\""
} >"$build/knpu.allconfig"
make -s -C "$src" O="$build" KCONFIG_ALLCONFIG="$build/knpu.allconfig" allnoconfig
# A line of the fragment that allnoconfig dropped (a typo, an unmet
# dependency) would silently build another kernel than the one asked for.
missing=()
while IFS= read -r line; do
	case $line in
	CONFIG_*=*) grep -qxF "$line" "$build/.config" || missing+=("$line") ;;
	"# CONFIG_"*" is not set")
		sym=${line#\# }
		sym=${sym%% *}
		! grep -q "^$sym=" "$build/.config" || missing+=("$line")
		;;
	esac
done <"$KNPU_DEBUG_CONFIG"
if [ ${#missing[@]} -gt 0 ]; then
	knpu_die "debug kernel config: not as the fragment asks: ${missing[*]}"
fi

knpu_log "debug kernel: building in $build (nice, -j${KNPU_KERNEL_JOBS:-2})"
nice -n 5 make -s -C "$src" O="$build" -j"${KNPU_KERNEL_JOBS:-2}" bzImage modules
rm -rf "$dir/modroot"
make -s -C "$src" O="$build" INSTALL_MOD_PATH="$dir/modroot" modules_install
release=$(cat "$build/include/config/kernel.release")
cat >"$dir/kernel.env" <<ENV
# Written by scripts/kernel/debug-kernel.sh; sourced with KNPU_GUEST_KERNEL=debug.
KNPU_KABI=$release
KNPU_VMLINUZ=$build/arch/x86/boot/bzImage
KNPU_KMODDIR=$dir/modroot/lib/modules/$release
KNPU_KHEADERS=$build
ENV
echo $(($(date +%s) - t0)) >"$dir/build-seconds"
touch "$dir/.done"
knpu_log "debug kernel $release built in $(cat "$dir/build-seconds") s: $dir"
