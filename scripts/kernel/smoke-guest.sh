#!/bin/sh
# In the guest (busybox sh): the knpu-smoke phases in order, with a module
# reload in between. The device is removed by the last phase.
set -e
bin=${1:?usage: smoke-guest.sh KNPU_SMOKE_BINARY KNPU_KO}
ko=${2:?usage: smoke-guest.sh KNPU_SMOKE_BINARY KNPU_KO}
"$bin" basic
"$bin" hang
"$bin" stress
echo "# module reload"
rmmod knpu
insmod "$ko" job_timeout_ms=2000
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -e /dev/accel/accel0 ] && break
	sleep 0.2
done
"$bin" basic
"$bin" unplug
