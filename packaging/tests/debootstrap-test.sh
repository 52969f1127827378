#!/usr/bin/env bash
# The install proof of the Debian packages (`make deb-install-test`): in a
# fresh Debian root made by debootstrap, apt installs the built .debs from
# their files and resolves their dependencies from the machine's configured
# mirror; knpu-dkms has DKMS build knpu.ko against that root's linux-headers;
# every tool runs and has its man page and completion; a pkg-config consumer
# and a CMake find_package(npu) consumer build, link and run in the root.
# KTAP on stdout; each step's log in DEB_DIR/debootstrap-test/.
#   debootstrap-test.sh DEB_DIR
# Needs root (debootstrap, chroot, mounts). The base root (debootstrap's
# minbase, a compiler, CMake, pkg-config and the kernel's headers) is cached
# as a tarball in $KNPU_CACHE/debootstrap, keyed by suite, architecture,
# mirrors, package list and the functions that make it.
# KNPU_DEB_TEST_KERNEL: the Debian kernel ABI whose headers the root gets
# (default: the running kernel if it is Debian's, else the guest kernel).
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

debs=$(cd "${1:?usage: debootstrap-test.sh DEB_DIR}" && pwd)
[ "$(id -u)" -eq 0 ] || knpu_die "debootstrap-test.sh needs root (debootstrap, chroot, mounts)"
knpu_apt_install debootstrap zstd

suite=bookworm
arch=$(dpkg --print-architecture)
tools=(npu-smi npu-run npu-asm npu-infer npu-bench npu-device-plugin npu-ocr)
packages=(libnpu0 libnpu-dev npu-tools knpu-dkms)
logs=$debs/debootstrap-test
rm -rf "$logs"
mkdir -p "$logs"

# The Debian kernel whose headers DKMS builds against: the running one when
# it is a Debian kernel (6.12.117+deb12-amd64, 6.1.0-28-cloud-amd64), else the
# Debian 6.12 kernel the guest boots (this project's target).
target_kernel() {
	if [ -n "${KNPU_DEB_TEST_KERNEL:-}" ]; then
		echo "$KNPU_DEB_TEST_KERNEL"
	elif [[ $(uname -r) =~ ^[0-9.]+(-[0-9]+|\+deb[0-9]+)-[a-z0-9-]+$ ]]; then
		uname -r
	else
		[ -f "$KNPU_KERNEL_ENV" ] || knpu_die "no $KNPU_KERNEL_ENV: run make guest-kernel"
		# shellcheck source=/dev/null
		(. "$KNPU_KERNEL_ENV" && echo "$KNPU_KABI")
	fi
}

# The machine's apt mirror serving SUITE (main), as apt itself resolved it.
mirror_of() {
	# shellcheck disable=SC2016 # apt's format fields, not shell expansions
	apt-get indextargets --format '$(REPO_URI) $(RELEASE) $(COMPONENT)' 'Identifier: Packages' |
		awk -v suite="$1" '$2 == suite && $3 == "main" { print $1; exit }'
}

version=$(dpkg-parsechangelog -l "$KNPU_ROOT/debian/changelog" -SVersion)
module_version=${version%-*}
deb_files=()
for p in "${packages[@]}"; do
	f=$(compgen -G "$debs/${p}_${version}_*.deb" | head -1) || knpu_die "no ${p}_${version} package in $debs: make deb"
	deb_files+=("$f")
done

kernel=$(target_kernel)
mirror=$(mirror_of "$suite")
security_mirror=$(mirror_of "$suite-security")
[ -n "$mirror" ] || knpu_die "no apt source of $suite main on this machine"
base_packages=(ca-certificates g++ make cmake ninja-build pkg-config "linux-headers-$kernel")

work=$(mktemp -d /var/tmp/knpu-debootstrap.XXXXXX)
root=$work/root
mkdir -p "$root"

# Unmounts what is mounted under the root (deepest first), and deletes the
# root only when nothing is mounted there any more.
cleanup() {
	local mounts
	mapfile -t mounts < <(findmnt -rn -o TARGET | grep "^$root/" | sort -r)
	for m in "${mounts[@]}"; do umount -l "$m" || true; done
	if findmnt -rn -o TARGET | grep -q "^$root/"; then
		knpu_log "still mounted under $root: left in place"
	else
		rm -rf --one-file-system "$work"
	fi
}
trap cleanup EXIT

mount_pseudo_filesystems() {
	mount -t proc proc "$root/proc"
	mount --bind /dev "$root/dev"
	mount --bind /dev/pts "$root/dev/pts"
}

# in_root CMD...: runs CMD in the root, with a clean environment.
in_root() {
	chroot "$root" /usr/bin/env -i HOME=/root LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive \
		PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin "$@"
}

# The root's apt sources: the machine's mirrors, for the suite, its updates
# and its security updates (Debian's 6.12 kernels come from the latter).
write_sources() {
	rm -f "$root/etc/apt/sources.list"
	{
		printf 'Types: deb\nURIs: %s\nSuites: %s %s-updates\nComponents: main\n' "$mirror" "$suite" "$suite"
		printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		if [ -n "$security_mirror" ]; then
			printf '\nTypes: deb\nURIs: %s\nSuites: %s-security\nComponents: main\n' "$security_mirror" "$suite"
			printf 'Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg\n'
		fi
	} >"$root/etc/apt/sources.list.d/debian.sources"
}

make_base_root() {
	debootstrap --variant=minbase --arch="$arch" "$suite" "$root" "$mirror" || return 1
	write_sources
	cp /etc/resolv.conf "$root/etc/resolv.conf"
	# No daemon starts inside the root.
	printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
	chmod 755 "$root/usr/sbin/policy-rc.d"
	# The root never boots: no initramfs for the kernel image that Debian's
	# linux-headers depend on (mkinitramfs takes minutes on a loaded machine).
	in_root dpkg-divert --local --rename --add /usr/sbin/update-initramfs || return 1
	ln -s /bin/true "$root/usr/sbin/update-initramfs"
	mount_pseudo_filesystems
	in_root apt-get update -qq &&
		in_root apt-get -y -qq dist-upgrade &&
		in_root apt-get -y -qq install --no-install-recommends "${base_packages[@]}" &&
		in_root apt-get clean || return 1
	umount "$root/dev/pts" "$root/dev" "$root/proc"
	mkdir -p "$cache"
	tar -C "$root" --numeric-owner -I 'zstd -T2 -3' -cf "$base_tarball.tmp" . &&
		mv "$base_tarball.tmp" "$base_tarball"
}

failed=0
n=0
# check NAME LOG CMD...: one KTAP result; CMD's output goes to LOG, whose
# tail is shown when CMD fails.
check() {
	local name=$1 log=$logs/$2
	shift 2
	n=$((n + 1))
	local start=$SECONDS
	if "$@" >"$log" 2>&1; then
		echo "ok $n $name # $((SECONDS - start)) s"
	else
		echo "not ok $n $name # $((SECONDS - start)) s"
		tail -n 25 "$log" | sed 's/^/# /'
		failed=$((failed + 1))
	fi
}

# The base root's key: its inputs and the steps that make it.
key=$({
	printf '%s\n' "$suite" "$arch" "$mirror" "$security_mirror" "${base_packages[@]}"
	declare -f make_base_root write_sources in_root mount_pseudo_filesystems
} | sha256sum | cut -c1-16)
cache=$KNPU_CACHE/debootstrap
base_tarball=$cache/$suite-$arch-$key.tar.zst

echo "KTAP version 1"
echo "1..$((${#tools[@]} + 5))"
echo "# $suite/$arch from $mirror, kernel headers $kernel"
start=$SECONDS
if [ -f "$base_tarball" ]; then
	tar -C "$root" --numeric-owner -I zstd -xf "$base_tarball"
	echo "# base root from $base_tarball ($((SECONDS - start)) s)"
else
	make_base_root >"$logs/debootstrap.log" 2>&1 ||
		{ tail -n 25 "$logs/debootstrap.log" | sed 's/^/# /'; echo "Bail out! debootstrap of $suite failed"; exit 1; }
	echo "# base root made by debootstrap and cached in $base_tarball ($((SECONDS - start)) s)"
fi
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount_pseudo_filesystems

mkdir -p "$root/tmp/debs"
cp "${deb_files[@]}" "$root/tmp/debs/"
install_packages() {
	in_root apt-get update -qq &&
		in_root sh -c 'cd /tmp/debs && apt-get -y install ./*.deb' &&
		in_root dpkg-query -W "${packages[@]}"
}
check "apt installs ${packages[*]} from the files, with their dependencies" apt.log install_packages

# tool_installed TOOL: the tool runs (its libraries resolve) and has its man
# page and bash completion.
tool_installed() {
	in_root "$1" --help &&
		in_root test -e "/usr/share/man/man1/$1.1.gz" &&
		in_root test -e "/usr/share/bash-completion/completions/$1"
}
for tool in "${tools[@]}"; do
	check "$tool runs, with its man page and bash completion" "$tool.log" tool_installed "$tool"
done

# The udev rule, and the units whose programs are installed.
units_installed() {
	in_root test -e /usr/lib/udev/rules.d/70-knpu.rules || return 1
	local unit program
	for unit in npu-smi-exporter npu-device-plugin; do
		program=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$root/usr/lib/systemd/system/$unit.service")
		echo "$unit.service runs $program"
		in_root test -x "$program" || return 1
	done
}
check "the udev rule, and the systemd units with their programs" units.log units_installed

# DKMS built knpu.ko for the kernel whose headers the root has, and the
# module's vermagic names that kernel.
module_built() {
	in_root dkms status knpu
	local module
	module=$(find "$root/lib/modules/$kernel/updates/dkms" -name 'knpu.ko*' | head -1)
	[ -n "$module" ] || { echo "no knpu.ko in /lib/modules/$kernel/updates/dkms"; return 1; }
	local vermagic
	vermagic=$(in_root modinfo -F vermagic "${module#"$root"}")
	echo "${module#"$root"}: vermagic $vermagic"
	[ "${vermagic%% *}" = "$kernel" ]
}
check "DKMS built knpu $module_version for $kernel (vermagic $kernel)" dkms.log module_built

cp -r "$KNPU_ROOT/packaging/tests/consumer" "$root/tmp/consumer"
# The .pc carries no language standard (C consumers use it too): the C++
# consumer asks for the C++20 that libnpu's headers need itself.
# shellcheck disable=SC2016 # expanded in the root
check "pkg-config --cflags --libs npu: a consumer builds, links and runs" pkg-config.log \
	in_root sh -c 'cd /tmp/consumer && g++ -std=c++20 -o consumer-pc consumer.cpp $(pkg-config --cflags --libs npu) && ./consumer-pc'
check "find_package(npu): a CMake consumer builds, links and runs" cmake.log \
	in_root sh -c 'cmake -S /tmp/consumer -B /tmp/consumer-build -G Ninja && cmake --build /tmp/consumer-build && /tmp/consumer-build/consumer'

echo "# $((n - failed)) passed, $failed failed, $((SECONDS - start)) s"
[ "$failed" -eq 0 ]
