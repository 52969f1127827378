# shellcheck shell=bash
# Shared by every knpu script: where builds are cached and how packages are installed.
# Source it; it sets `set -euo pipefail` for the caller.
set -euo pipefail

KNPU_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Builds are cached outside the work tree, keyed by their inputs, so a fresh
# clone on a kept machine reuses them.
KNPU_CACHE=${KNPU_CACHE:-$HOME/.cache/knpu}
mkdir -p "$KNPU_CACHE"

# Well-known locations produced by the build scripts and consumed by the others.
KNPU_QEMU_BIN=$KNPU_CACHE/bin/qemu-system-x86_64   # wrapper with firmware paths
KNPU_QTEST_BIN=$KNPU_CACHE/bin/knpu-qtest           # the device model's qtest
KNPU_KERNEL_ENV=$KNPU_CACHE/kernel.env              # KNPU_KABI, KNPU_VMLINUZ, KNPU_KMODDIR, KNPU_KHEADERS
KNPU_LINUX_SRC=$KNPU_CACHE/linux-source-6.12        # extracted linux-source-6.12

export KNPU_ROOT KNPU_CACHE KNPU_QEMU_BIN KNPU_QTEST_BIN KNPU_KERNEL_ENV KNPU_LINUX_SRC

# The guest kernel the harness boots and knpu.ko is built against:
#   debian  Debian's 6.12 image and headers ($KNPU_KERNEL_ENV; the default)
#   debug   linux-source-6.12 with KASAN, lockdep, kmemleak, debug objects and
#           DMA-API debugging (scripts/kernel/debug-kernel.sh, `make debug-kernel`)
KNPU_GUEST_KERNEL=${KNPU_GUEST_KERNEL:-debian}
case $KNPU_GUEST_KERNEL in
debian | debug) ;;
*) printf '[knpu] error: KNPU_GUEST_KERNEL=%s: use debian or debug\n' "$KNPU_GUEST_KERNEL" >&2; exit 2 ;;
esac
# The debug kernel's inputs; its cache directory is keyed by their hash.
KNPU_DEBUG_CONFIG=$KNPU_ROOT/scripts/kernel/debug-guest.config
# knpu.ko built against the debug kernel lives beside the CMake build, so
# kernel/knpu.ko (Debian's) and it never overwrite each other.
KNPU_DEBUG_MODULE_DIR=${KNPU_BUILD:-$KNPU_ROOT/build}/knpu-debug
case $KNPU_DEBUG_MODULE_DIR in /*) ;; *) KNPU_DEBUG_MODULE_DIR=$KNPU_ROOT/$KNPU_DEBUG_MODULE_DIR ;; esac
export KNPU_GUEST_KERNEL KNPU_DEBUG_CONFIG KNPU_DEBUG_MODULE_DIR

knpu_log() { printf '[knpu] %s\n' "$*" >&2; }
knpu_die() { printf '[knpu] error: %s\n' "$*" >&2; exit 1; }

# knpu_apt_install PKG...: installs the packages that are missing, by name.
# Safe to call from several scripts at once (waits for the dpkg lock).
knpu_apt_install() {
	local missing=() p
	for p in "$@"; do
		dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' ||
			missing+=("$p")
	done
	[ ${#missing[@]} -eq 0 ] && return 0
	knpu_log "installing ${missing[*]}"
	local sudo=""
	[ "$(id -u)" -eq 0 ] || sudo=sudo
	local stamp=$KNPU_CACHE/.apt-updated
	if [ ! -f "$stamp" ] || [ -n "$(find "$stamp" -mmin +720 2>/dev/null)" ]; then
		$sudo apt-get -o DPkg::Lock::Timeout=900 update -qq
		touch "$stamp"
	fi
	DEBIAN_FRONTEND=noninteractive $sudo apt-get -o DPkg::Lock::Timeout=900 \
		install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# knpu_hash FILE_OR_DIR...: a stable content hash of the inputs, for cache keys.
knpu_hash() {
	find "$@" -type f ! -name '*.o' ! -name '*.ko' ! -name '*.cmd' -print0 2>/dev/null |
		sort -z | xargs -0 sha256sum | sha256sum | cut -c1-16
}

# knpu_debug_kernel_dir: the cache directory of the debug guest kernel for
# this tree: keyed by the source version, the config fragment, the driver's
# Kconfig (its selects pick the DRM helpers) and the build script.
knpu_debug_kernel_dir() {
	local srcver key
	srcver=$(cat "$KNPU_LINUX_SRC/.knpu-version" 2>/dev/null || echo none)
	key=$(cat "$KNPU_DEBUG_CONFIG" "$KNPU_ROOT/kernel/Kconfig" \
		"$KNPU_ROOT/scripts/kernel/debug-kernel.sh" | sha256sum | cut -c1-12)
	echo "$KNPU_CACHE/debug-kernel-$srcver-$key"
}

# knpu_kernel_env_file: the kernel.env of the selected guest kernel
# (KNPU_KABI, KNPU_VMLINUZ, KNPU_KMODDIR, KNPU_KHEADERS).
knpu_kernel_env_file() {
	if [ "$KNPU_GUEST_KERNEL" = debug ]; then
		echo "$(knpu_debug_kernel_dir)/kernel.env"
	else
		echo "$KNPU_KERNEL_ENV"
	fi
}
