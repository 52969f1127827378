#!/usr/bin/env bash
# Resolve one Debian 6.12 kernel ABI and make its pieces available:
#  - linux-headers-$ABI installed on the host (to build knpu.ko against),
#  - linux-image-$ABI(-unsigned) unpacked into $KNPU_CACHE (never installed),
#    giving the guest its vmlinuz and /lib/modules/$ABI,
#  - linux-source-6.12 extracted once into $KNPU_LINUX_SRC (checkpatch, kunit).
# Writes $KNPU_KERNEL_ENV. Idempotent: a second run only re-checks.
# shellcheck source-path=SCRIPTDIR source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

t0=$(date +%s)
knpu_apt_install apt-utils xz-utils dpkg-dev

# The meta package always points at the current ABI; image and headers are
# taken from that one version so they match.
resolve_abi() {
	apt-cache depends linux-headers-6.12-amd64 2>/dev/null |
		sed -n 's/^ *Depends: linux-headers-\(6\.12\.[0-9]*+deb[0-9]*-amd64\)$/\1/p' | head -n1
}
abi=$(resolve_abi)
if [ -z "$abi" ]; then
	# Package lists may be missing on a fresh machine.
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	touch "$KNPU_CACHE/.apt-updated"
	abi=$(resolve_abi)
fi
[ -n "$abi" ] || knpu_die "cannot resolve a Debian 6.12 kernel ABI from linux-headers-6.12-amd64"
knpu_log "kernel ABI: $abi"

t=$(date +%s)
knpu_apt_install "linux-headers-$abi" linux-source-6.12
knpu_log "headers and source packages: $(($(date +%s) - t)) s"
kheaders=/usr/src/linux-headers-$abi
[ -d "$kheaders" ] || knpu_die "$kheaders missing after install"

# Guest kernel image + modules, unpacked but not installed.
imgroot=$KNPU_CACHE/kernel-$abi
if [ ! -f "$imgroot/.done" ]; then
	img=""
	for p in "linux-image-$abi-unsigned" "linux-image-$abi"; do
		if apt-cache show "$p" >/dev/null 2>&1; then img=$p; break; fi
	done
	[ -n "$img" ] || knpu_die "no linux-image package for $abi"
	t=$(date +%s)
	dl=$(mktemp -d "$KNPU_CACHE/dl.XXXXXX")
	# apt's sandbox user cannot write into root's cache; the download is
	# checked against the signed package lists all the same.
	chmod 755 "$dl"
	knpu_log "downloading $img"
	(cd "$dl" && apt-get download -qq "$img")
	rm -rf "$imgroot"
	mkdir -p "$imgroot"
	dpkg-deb -x "$dl"/*.deb "$imgroot"
	rm -rf "$dl"
	touch "$imgroot/.done"
	knpu_log "guest kernel image fetched and unpacked: $(($(date +%s) - t)) s"
fi
vmlinuz=$imgroot/boot/vmlinuz-$abi
kmoddir=$imgroot/lib/modules/$abi
[ -f "$vmlinuz" ] || knpu_die "$vmlinuz missing"
[ -d "$kmoddir" ] || knpu_die "$kmoddir missing"

# linux-source, extracted once (keyed by the tarball's package version).
srcver=$(dpkg-query -W -f='${Version}' linux-source-6.12)
if [ "$(cat "$KNPU_LINUX_SRC/.knpu-version" 2>/dev/null)" != "$srcver" ]; then
	tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-6.12.tar.*' | sort | head -n1)
	[ -n "$tarball" ] || knpu_die "linux-source-6.12 tarball not found in /usr/src"
	knpu_log "extracting $tarball into $KNPU_LINUX_SRC"
	t=$(date +%s)
	tmp=$(mktemp -d "$KNPU_CACHE/src.XXXXXX")
	tar -C "$tmp" -xaf "$tarball"
	rm -rf "$KNPU_LINUX_SRC"
	mv "$tmp/linux-source-6.12" "$KNPU_LINUX_SRC"
	rmdir "$tmp"
	echo "$srcver" >"$KNPU_LINUX_SRC/.knpu-version"
	knpu_log "linux-source extracted: $(($(date +%s) - t)) s"
fi

tmpenv=$(mktemp "$KNPU_KERNEL_ENV.XXXXXX")
cat >"$tmpenv" <<ENV
# Written by scripts/kernel/guest-kernel.sh; sourced by the other scripts.
KNPU_KABI=$abi
KNPU_VMLINUZ=$vmlinuz
KNPU_KMODDIR=$kmoddir
KNPU_KHEADERS=$kheaders
ENV
chmod 644 "$tmpenv"
mv "$tmpenv" "$KNPU_KERNEL_ENV"
knpu_log "guest kernel ready ($(($(date +%s) - t0)) s): $KNPU_KERNEL_ENV"
