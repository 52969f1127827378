#!/usr/bin/env bash
# Build (or reuse) the guest initramfs and print its path.
#
# Contents: Debian's busybox-static, tests/harness/init, and the guest kernel's
# modules needed by the harness and the driver (DRM stack, virtio/9p),
# decompressed from the extracted linux-image ($KNPU_KMODDIR) and listed in
# load order (modules.dep) in /etc/knpu/modules.load. knpu.ko itself is not in
# it: the guest loads it from the host tree over 9p, so rebuilding the driver
# does not rebuild the initramfs.
#
# Cached as $KNPU_CACHE/initramfs/initramfs-<ABI>-<hash>.cpio.gz, the hash
# covering the init script, this script, busybox's version, the kernel ABI and
# the module list (which includes knpu.ko's `modinfo -F depends`).
#
# Usage: build-initramfs.sh [--force]
# shellcheck source=lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

force=0
[ "${1:-}" = --force ] && force=1

knpu_load_kernel_env
knpu_apt_install busybox-static kmod cpio gzip xz-utils

# Modules the harness itself needs (9p over virtio) and the DRM stack the
# driver builds on; knpu.ko's own dependencies are added from modinfo.
SEED_MODULES=(
	virtio_pci 9pnet_virtio 9p
	drm drm_kms_helper drm_shmem_helper gpu-sched drm_buddy drm_exec drm_gpuvm
)
if [ -f "$KNPU_MODULE" ]; then
	IFS=, read -r -a knpu_deps <<<"$(modinfo -F depends "$KNPU_MODULE" 2>/dev/null || true)"
	SEED_MODULES+=("${knpu_deps[@]}")
fi

# One build at a time (ctest -j, two shells).
mkdir -p "$KNPU_CACHE/initramfs"
exec 9>"$KNPU_CACHE/initramfs/.lock"
flock 9

# The extracted package has no modules.dep (depmod runs at install time):
# generate one, once per ABI, in our own cache.
moddep=$KNPU_KMODDIR/modules.dep
if [ ! -f "$moddep" ]; then
	depdir=$KNPU_CACHE/initramfs/depmod-$KNPU_KABI
	moddep=$depdir/lib/modules/$KNPU_KABI/modules.dep
	if [ ! -f "$moddep" ]; then
		# A hard-linked copy (no space used) that depmod may write into.
		rm -rf "$depdir"
		mkdir -p "$depdir/lib/modules"
		cp -al "$KNPU_KMODDIR" "$depdir/lib/modules/$KNPU_KABI" 2>/dev/null ||
			cp -a "$KNPU_KMODDIR" "$depdir/lib/modules/$KNPU_KABI"
		depmod -b "$depdir" "$KNPU_KABI" || knpu_die "depmod failed for $KNPU_KMODDIR"
	fi
fi

# Resolve module names to paths (modules.dep keys) and order them so every
# module comes after its dependencies.
declare -A path_of=() deps_of=() done_=()
while IFS= read -r line; do
	key=${line%%:*}
	name=${key##*/}
	name=${name%%.ko*}
	name=${name//-/_}
	path_of[$name]=$key
	deps_of[$key]=${line#*:}
done <"$moddep"

order=()
visit() {
	local key=$1 d
	[ -n "${done_[$key]:-}" ] && return 0
	done_[$key]=1
	for d in ${deps_of[$key]}; do visit "$d"; done
	order+=("$key")
}
for m in "${SEED_MODULES[@]}"; do
	[ -n "$m" ] || continue
	n=${m//-/_}
	if [ -n "${path_of[$n]:-}" ]; then
		visit "${path_of[$n]}"
	elif grep -qE "/${m}\.ko$|/${n}\.ko$" "$KNPU_KMODDIR/modules.builtin" 2>/dev/null; then
		: # built into the kernel
	else
		knpu_log "warning: module $m is neither a module nor built in for $KNPU_KABI"
	fi
done

busybox_ver=$(dpkg-query -W -f='${Version}' busybox-static)
key=$( {
	knpu_hash "$KNPU_HARNESS/init" "${BASH_SOURCE[0]}"
	echo "$busybox_ver $KNPU_KABI"
	printf '%s\n' "${order[@]}"
} | sha256sum | cut -c1-16)
outdir=$KNPU_CACHE/initramfs
out=$outdir/initramfs-$KNPU_KABI-$key.cpio.gz
if [ $force = 0 ] && [ -f "$out" ]; then
	echo "$out"
	exit 0
fi

t0=$(date +%s.%N)
mkdir -p "$outdir"
tmp=$(mktemp -d "$outdir/build.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mkdir -p "$root"/{bin,sbin,etc/knpu,proc,sys,dev,tmp,run,host,results,lib/modules/"$KNPU_KABI"}
cp /bin/busybox "$root/bin/busybox"
install -m 0755 "$KNPU_HARNESS/init" "$root/init"
: >"$root/etc/knpu/modules.load"
for key_ in "${order[@]}"; do
	src=$KNPU_KMODDIR/$key_
	dst=$root/lib/modules/$KNPU_KABI/${key_%.xz}
	dst=${dst%.zst}
	dst=${dst%.gz}
	mkdir -p "$(dirname "$dst")"
	case $src in
	*.ko.xz) xz -dc "$src" >"$dst" ;;
	*.ko.zst) zstd -qdc "$src" >"$dst" ;;
	*.ko.gz) gzip -dc "$src" >"$dst" ;;
	*) cp "$src" "$dst" ;;
	esac
	echo "${dst#"$root/lib/modules/$KNPU_KABI/"}" >>"$root/etc/knpu/modules.load"
done
# A modules.dep for busybox modprobe in the interactive shell.
cp "$KNPU_KMODDIR"/modules.builtin* "$root/lib/modules/$KNPU_KABI/" 2>/dev/null || true
depmod -b "$root" "$KNPU_KABI" 2>/dev/null || true
(cd "$root" && find . -print0 | sort -z | cpio --null -o -H newc --quiet) | gzip -1 >"$tmp/out.cpio.gz"
mv "$tmp/out.cpio.gz" "$out"
# Keep the three newest images for this ABI.
ls -1t "$outdir"/initramfs-"$KNPU_KABI"-*.cpio.gz 2>/dev/null | tail -n +4 | xargs -r rm -f
knpu_log "initramfs: ${#order[@]} modules, $(du -h "$out" | cut -f1), built in $(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }') s: $out"
echo "$out"
