#!/usr/bin/env bash
# Runs the kernel binary loader's libFuzzer target over the corpus kept in
# tests/fuzz/loader/corpus. New inputs go to a scratch corpus in the work
# directory (the repository's corpus is read, never written), a crash to
# WORK/crash-* (replay: FUZZER WORK/crash-...). Exit status: the fuzzer's
# (0: no finding).
#   run.sh --fuzzer PATH --work DIR [-- LIBFUZZER-OPTIONS...]
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
fuzzer="" work=""
while [ $# -gt 0 ]; do
	case $1 in
	--fuzzer) fuzzer=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x "$fuzzer" ] || { echo "run.sh: no fuzzer at '$fuzzer' (build the userspace first)" >&2; exit 2; }
[ -n "$work" ] || { echo "run.sh: --work DIR" >&2; exit 2; }
mkdir -p "$work/corpus"
# -rss_limit_mb: a parser that allocates by a size field it did not check is a finding.
exec "$fuzzer" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$work/" "$@" "$work/corpus" "$here/corpus"
