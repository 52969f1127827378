#!/usr/bin/env bash
# Runs a libFuzzer target (tests/fuzz/loader, tests/fuzz/model) over the
# corpus kept in the repository. New inputs go to a scratch corpus in the
# work directory (the repository's corpus is read, never written), a crash
# to WORK/crash-* (replay: FUZZER WORK/crash-...). Exit status: the
# fuzzer's (0: no finding).
#   run-libfuzzer.sh --fuzzer PATH --corpus DIR --work DIR [-- LIBFUZZER-OPTIONS...]
set -euo pipefail
fuzzer="" corpus="" work=""
while [ $# -gt 0 ]; do
	case $1 in
	--fuzzer) fuzzer=$2; shift 2 ;;
	--corpus) corpus=$2; shift 2 ;;
	--work) work=$2; shift 2 ;;
	--) shift; break ;;
	*) echo "run-libfuzzer.sh: unknown option $1" >&2; exit 2 ;;
	esac
done
[ -x "$fuzzer" ] || { echo "run-libfuzzer.sh: no fuzzer at '$fuzzer' (build the userspace first)" >&2; exit 2; }
[ -d "$corpus" ] || { echo "run-libfuzzer.sh: --corpus DIR" >&2; exit 2; }
[ -n "$work" ] || { echo "run-libfuzzer.sh: --work DIR" >&2; exit 2; }
mkdir -p "$work/corpus"
# -rss_limit_mb: a parser that allocates by a size field it did not check is a finding.
exec "$fuzzer" -rss_limit_mb=2048 -timeout=20 -print_final_stats=1 \
	-artifact_prefix="$work/" "$@" "$work/corpus" "$corpus"
