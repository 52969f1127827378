#!/usr/bin/env bash
# `make deb`: the Debian packages (debian/), built with Debian's tooling from
# a copy of the tracked tree, then checked with lintian.
#   build-deb.sh OUT_DIR     the .deb, .changes and lintian.txt land in OUT_DIR
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

out=$(mkdir -p "${1:?usage: build-deb.sh OUT_DIR}" && cd "$1" && pwd)
knpu_apt_install dpkg-dev debhelper dh-dkms dkms lintian fakeroot
# The build dependencies, by name, from debian/control.
mapfile -t build_deps < <(sed -n '/^Build-Depends:/,/^[A-Z]/p' "$KNPU_ROOT/debian/control" |
	sed '1s/^Build-Depends://; $d' | tr ',' '\n' | sed 's/(.*)//; s/^[[:space:]]*//; s/[[:space:]]*$//' |
	grep -v '^$' | grep -v '^debhelper-compat$' | grep -v '^dh-sequence-')
knpu_apt_install "${build_deps[@]}"

version=$(dpkg-parsechangelog -l "$KNPU_ROOT/debian/changelog" -SVersion)
src=$out/knpu-${version%-*}
rm -rf "$src"
mkdir -p "$src"
(cd "$KNPU_ROOT" && git ls-files --cached --others --exclude-standard -z | xargs -0 cp --parents -t "$src")
(cd "$src" && dpkg-buildpackage -us -uc -b -j"$(nproc)")
lintian --info --display-info "$out"/knpu_"${version}"_*.changes | tee "$out/lintian.txt"
ls -l "$out"/*.deb

# knpu-dkms at work: DKMS builds knpu.ko from the package's source for every
# kernel whose headers are installed here, in a private DKMS tree (nothing is
# installed into the system).
dkms_work=$(mktemp -d)
trap 'rm -rf "$dkms_work"' EXIT
mkdir -p "$dkms_work/dkms"
dpkg-deb -x "$out"/knpu-dkms_"${version}"_all.deb "$dkms_work/root"
module_version=${version%-*}
kernels=0
dkms_args=(-m knpu -v "$module_version" --sourcetree "$dkms_work/root/usr/src" --dkmstree "$dkms_work/dkms")
dkms add "${dkms_args[@]}" >/dev/null
for build_dir in /lib/modules/*/build; do
	[ -e "$build_dir/Makefile" ] || continue
	kernel=$(basename "$(dirname "$build_dir")")
	status=0
	dkms build "${dkms_args[@]}" -k "$kernel" >"$dkms_work/build-$kernel.log" 2>&1 || status=$?
	# 77: the kernel is older than BUILD_EXCLUSIVE_KERNEL allows (debian/knpu-dkms.dkms).
	if [ "$status" -eq 77 ]; then
		knpu_log "DKMS skipped $kernel: knpu needs Linux 6.12 or later"
		continue
	fi
	[ "$status" -eq 0 ] || { cat "$dkms_work/build-$kernel.log"; knpu_die "DKMS could not build knpu for $kernel"; }
	module=$(find "$dkms_work/dkms/knpu/$module_version/$kernel" -name 'knpu.ko*' | head -1)
	vermagic=$(modinfo -F vermagic "$module")
	[ "${vermagic%% *}" = "$kernel" ] || knpu_die "knpu.ko for $kernel has vermagic '$vermagic'"
	knpu_log "DKMS built knpu.ko for $kernel ($module)"
	kernels=$((kernels + 1))
done
[ "$kernels" -gt 0 ] || knpu_log "no kernel headers installed: DKMS build not tried"
