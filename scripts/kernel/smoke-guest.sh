#!/bin/sh
# In the guest (busybox sh): the knpu-smoke phases in order. The device is
# removed by the last one.
set -e
bin=${1:?usage: smoke-guest.sh KNPU_SMOKE_BINARY}
"$bin" basic
"$bin" hang
"$bin" unplug
