#!/usr/bin/env bash
# Prints the directory of the Container Device Interface specification's JSON
# schema (schema.json, defs.json), taken from Debian's package of the CDI
# reference library (golang-github-container-orchestrated-devices-
# container-device-interface-dev): downloaded and unpacked into the cache,
# not installed (it would pull ~70 Go source packages).
# shellcheck source-path=SCRIPTDIR source=../../scripts/lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../../scripts/lib/common.sh"

package=golang-github-container-orchestrated-devices-container-device-interface-dev
out=$KNPU_CACHE/cdi-schema
schema=$out/root/usr/share/gocode/src/github.com/container-orchestrated-devices/container-device-interface/schema
if [ ! -f "$schema/schema.json" ]; then
	mkdir -p "$out/download"
	exec 9>"$out/.lock"
	flock 9
	if [ ! -f "$schema/schema.json" ]; then
		(cd "$out/download" && { apt-get download "$package" >/dev/null 2>&1 ||
			{ apt-get update -qq && apt-get download "$package" >/dev/null; }; })
		dpkg-deb -x "$out/download/${package}"_*.deb "$out/root"
	fi
fi
[ -f "$schema/schema.json" ] || knpu_die "no CDI schema in $package"
echo "$schema"
