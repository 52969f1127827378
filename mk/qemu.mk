# QEMU with the KNPU device model (qemu-device/) and its qtest.
#   make qemu   fetch Debian's QEMU source, build it with the device (cached in
#               $(KNPU_CACHE)/qemu; a re-run with no change takes seconds)
#   make qtest  run the device model's qtests (TAP)
.PHONY: qemu qtest

qemu:
	@bash scripts/qemu/build.sh

qtest: qemu
	@bash scripts/qemu/run-qtest.sh

.PHONY: qemu-checkpatch
qemu-checkpatch: qemu
	@bash scripts/qemu/checkpatch.sh
