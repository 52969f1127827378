# shellcheck shell=bash disable=SC2034 # the variables are the sourcing script's
# Sourced by the ONNX guest tests with their arguments,
# [--timeout SEC] [--full] BUILD_DIR: sets timeout_s (default 300), full
# (--full or empty) and build (absolute).
timeout_s=300
full=
while [ $# -gt 1 ]; do
	case $1 in
	--timeout) timeout_s=$2; shift 2 ;;
	--full) full=--full; shift ;;
	*) break ;;
	esac
done
build=$(cd "${1:?usage: $(basename "$0") [--timeout SEC] [--full] BUILD_DIR}" && pwd)
