#!/bin/sh
# In the guest (busybox sh), with two devices: the knpu-smoke phases in order.
# The fault phase leaves device 0 stopped; the module reload's probe resets
# it. The last two phases remove the devices.
set -e
bin=${1:?usage: smoke-guest.sh KNPU_SMOKE_BINARY KNPU_KO}
ko=${2:?usage: smoke-guest.sh KNPU_SMOKE_BINARY KNPU_KO}
"$bin" basic
"$bin" hang
"$bin" stress
# The ioctl fuzzer (knpu-fuzz, built next to knpu-smoke), a short run; `make fuzz` is the long one.
# A per-file pinned-memory limit keeps the fuzzer's buffers within the guest's RAM.
echo 64 >/sys/module/knpu/parameters/pinned_limit_mb
"$(dirname "$bin")/knpu-fuzz" --calls 20000 --seed "${KNPU_FUZZ_SEED:-1}"
echo 0 >/sys/module/knpu/parameters/pinned_limit_mb
"$bin" faults /dev/accel/accel0 knpu0
"$bin" recovery /dev/accel/accel0
echo "# module reload"
# The last fences and jobs of closed files let go of the module from a
# workqueue, a little after the close: rmmod is refused (EBUSY) until then.
for _ in $(seq 50); do
	rmmod knpu 2>/dev/null && break
	sleep 0.1
done
insmod "$ko" job_timeout_ms=2000
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ -e /dev/accel/accel1 ] && break
	sleep 0.2
done
"$bin" basic /dev/accel/accel0
"$bin" basic /dev/accel/accel1
"$bin" surprise /dev/accel/accel1 knpu1
"$bin" unplug /dev/accel/accel0
