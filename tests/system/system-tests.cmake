# System test tiers as CTest tests (owner: test infrastructure).
#
# include()d from the top-level CMakeLists.txt:
#     include(tests/system/system-tests.cmake)
#
# Registers
#   qtest                   the device model's qtests        labels: host;qtest
#   qtest-without-vnni      compute qtests, oneDNN at AVX2   labels: host;qtest
#   harness-report          report.py's parsing (no VM)      labels: host;harness
#   kunit                   the driver's KUnit suites        labels: kunit
#   guest-harness           harness self-test in the guest   labels: guest;harness
#   guest-harness-failures  the harness reports failures     labels: guest;harness
#   guest-harness-bar-remap QEMU survives memory map changes labels: guest;harness
#                           beside MMIO reads (its core fix)
#   guest-harness-tcg-flags QEMU keeps RFLAGS right where   labels: guest;harness
#                           7.2's TCG did not (its TCG fixes)
#   guest-kernel-smoke      tests/kernel/smoke.sh            labels: guest;kernel
#   guest-<suite>           each in-guest GoogleTest binary  labels: guest
#   debug-<guest test>      each guest test again, on the debug kernel       labels: debug
#                           (`make test-debug`)
#
# In-guest GoogleTest suites: every executable target that links GoogleTest
# and has a source under tests/guest/ is registered automatically (at the end
# of the top-level directory, so it does not matter where it is defined or in
# which order). Per-target knobs, as target properties:
#     set_target_properties(t PROPERTIES KNPU_GUEST_DEVICES 2     # -device knpu count (1)
#                                        KNPU_GUEST_TIMEOUT 900   # seconds (600)
#                                        KNPU_GUEST_ARGS "--gtest_repeat=2"
#                                        KNPU_GUEST_MODULE_PARAMS "job_timeout_ms=2000"
#                                        KNPU_GUEST_DEVICE_OPTS "cores=8"
#                                        KNPU_GUEST_ALLOW_SPLAT "regex of expected kernel lines"
#                                        KNPU_GUEST_SKIP ON       # not a suite
#                                        KNPU_GUEST_DEBUG_TIMEOUT 1800)
# or register one explicitly (also for binaries outside tests/guest):
#     knpu_add_guest_gtest(TARGET [NAME suite] [DEVICES n] [TIMEOUT s]
#                          [MODULE_PARAMS p] [DEVICE_OPTS o] [ALLOW_SPLAT re]
#                          [ARGS ...] [LABELS ...] [ENV NAME=VALUE ...]
#                          [DEBUG_TIMEOUT s] [NO_DEBUG])
# which adds the test guest-<suite> (suite = NAME, or the target name's words
# without guest, test(s) and knpu: knpu-guest-tests -> guest-knpu,
# guest_queue_tests -> guest-queue).
#
# Each guest test runs tests/harness/guest-run.sh: it boots the guest, runs the
# binary with --gtest_output=xml into its results directory
# ${CMAKE_BINARY_DIR}/guest/guest-<suite>/, fails on a failed test, a non-zero
# exit or a kernel splat, and names the failed tests. Run a tier with
# `ctest --test-dir build -L guest`, one test with `ctest -R '^guest-harness$'`.

set(KNPU_HARNESS_DIR ${CMAKE_SOURCE_DIR}/tests/harness)
set(KNPU_GUEST_RUN ${KNPU_HARNESS_DIR}/guest-run.sh)
# The harness writes results under the build tree that CTest runs in.
set(_knpu_guest_env "KNPU_BUILD=${CMAKE_BINARY_DIR}")

# --- host tier: qtest ------------------------------------------------------
add_test(NAME qtest COMMAND ${CMAKE_SOURCE_DIR}/scripts/qemu/run-qtest.sh)
# run-qtest.sh builds QEMU first when it is missing (3-4 min).
set_tests_properties(qtest PROPERTIES LABELS "host;qtest" TIMEOUT 900)
# The compute qtests again with oneDNN held to AVX2, as on a host without
# VNNI: there INT8 GEMM takes its exact FP32 steps (knpu_dnnl_int8_exact()),
# a path a VNNI host never runs otherwise (and the other way round).
add_test(NAME qtest-without-vnni
  COMMAND ${CMAKE_SOURCE_DIR}/scripts/qemu/run-qtest.sh
          -p /x86_64/knpu/compute -p /x86_64/knpu/compute/gemm)
set_tests_properties(qtest-without-vnni PROPERTIES LABELS "host;qtest" TIMEOUT 900
  ENVIRONMENT "ONEDNN_MAX_CPU_ISA=AVX2")

# --- KUnit tier -------------------------------------------------------------
# A cold kunit kernel build takes 3-5.5 minutes on 2 cores.
add_test(NAME kunit COMMAND ${CMAKE_SOURCE_DIR}/scripts/kernel/run-kunit.sh)
set_tests_properties(kunit PROPERTIES LABELS "kunit" TIMEOUT 1200)

# --- the harness's report parser (host, no VM) ---------------------------------
add_test(NAME harness-report COMMAND ${KNPU_HARNESS_DIR}/test_report.py)
set_tests_properties(harness-report PROPERTIES LABELS "host;harness" TIMEOUT 60)

# --- guest tier ---------------------------------------------------------------
add_test(NAME guest-harness COMMAND ${KNPU_HARNESS_DIR}/selftest.sh)
set_tests_properties(guest-harness PROPERTIES LABELS "guest;harness" TIMEOUT 300 COST 1
	ENVIRONMENT "${_knpu_guest_env}")

add_test(NAME guest-harness-failures COMMAND ${KNPU_HARNESS_DIR}/selftest-failures.sh)
set_tests_properties(guest-harness-failures PROPERTIES LABELS "guest;harness" TIMEOUT 400 COST 1
	ENVIRONMENT "${_knpu_guest_env}")

add_test(NAME guest-harness-bar-remap COMMAND ${KNPU_HARNESS_DIR}/selftest-bar-remap.sh)
set_tests_properties(guest-harness-bar-remap PROPERTIES LABELS "guest;harness" TIMEOUT 300 COST 1
	ENVIRONMENT "${_knpu_guest_env}")

add_test(NAME guest-harness-tcg-flags COMMAND ${KNPU_HARNESS_DIR}/selftest-tcg-flags.sh)
set_tests_properties(guest-harness-tcg-flags PROPERTIES LABELS "guest;harness" TIMEOUT 300
	COST 1 ENVIRONMENT "${_knpu_guest_env}")

# The debug guest tier: every guest test also runs as debug-<name> on the
# debug guest kernel (KASAN, lockdep, kmemleak, debug objects, DMA-API
# debugging; `make debug-module`, which `make test-debug` builds first),
# labelled `debug` (so `-L guest` does not pick it up; `make test-debug` runs
# the tier, `make test` leaves it out: a fresh 2-core machine has no time for
# the debug kernel's build and the tier within 45 minutes, docs/testing.md).
# TCG with KASAN runs the same work several times slower: DEBUG_TIMEOUT
# (default 3 x TIMEOUT) is its limit. NO_DEBUG is for the tests of the
# harness's own failure paths, which boot no driver work. CTest runs two
# tests at a time and starts the costliest first, so that a run does not end
# on one long suite alone: in `make test` the guest tests (COST 1) before the
# short host tests, in `make test-debug` the twins with the longest limits
# (COST: the limit in seconds).
option(KNPU_GUEST_DEBUG_TIER "register the debug-* guest tests (make debug-module first)" ON)
set(_knpu_debug_env "${_knpu_guest_env};KNPU_GUEST_KERNEL=debug")
function(_knpu_debug_timeout timeout debug_timeout out)
	if(debug_timeout)
		set(${out} ${debug_timeout} PARENT_SCOPE)
	else()
		math(EXPR t "${timeout} * 3")
		set(${out} ${t} PARENT_SCOPE)
	endif()
endfunction()

# The debug tier's leak check can fail: a module that leaks on purpose, loaded
# by a passing program on the debug kernel, must fail the run (make test-debug).
if(KNPU_GUEST_DEBUG_TIER)
	add_test(NAME debug-harness-kmemleak COMMAND ${KNPU_HARNESS_DIR}/selftest-kmemleak.sh)
	set_tests_properties(debug-harness-kmemleak PROPERTIES LABELS "debug;harness" TIMEOUT 400 COST 400
		ENVIRONMENT "${_knpu_debug_env}")
endif()

# Guest tests that are scripts calling guest-run.sh themselves:
#     knpu_add_guest_script(NAME script [ARGS ...] [TIMEOUT s] [LABELS ...]
#                           [DEBUG_TIMEOUT s] [NO_DEBUG])
function(knpu_add_guest_script name script)
	cmake_parse_arguments(A "NO_DEBUG" "TIMEOUT;DEBUG_TIMEOUT" "ARGS;LABELS"
		${ARGN})
	if(NOT A_TIMEOUT)
		set(A_TIMEOUT 600)
	endif()
	math(EXPR inner "${A_TIMEOUT} - 30")
	add_test(NAME ${name} COMMAND ${script} --timeout ${inner} ${A_ARGS}
		WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
	set(labels guest ${A_LABELS})
	set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${A_TIMEOUT}
		COST 1 ENVIRONMENT "${_knpu_guest_env}")
	if(NOT A_NO_DEBUG AND KNPU_GUEST_DEBUG_TIER)
		_knpu_debug_timeout(${A_TIMEOUT} "${A_DEBUG_TIMEOUT}" dt)
		math(EXPR inner "${dt} - 30")
		add_test(NAME debug-${name} COMMAND ${script} --timeout ${inner} ${A_ARGS}
			WORKING_DIRECTORY ${CMAKE_SOURCE_DIR})
		set_tests_properties(debug-${name} PROPERTIES LABELS debug TIMEOUT ${dt}
			COST ${dt} ENVIRONMENT "${_knpu_debug_env}")
	endif()
endfunction()

# The driver's raw-ioctl bring-up test (knpu-smoke: basic, hang, reload, unplug).
knpu_add_guest_script(guest-kernel-smoke ${CMAKE_SOURCE_DIR}/tests/kernel/smoke.sh
	TIMEOUT 400 LABELS kernel)

# Each device fault, an FLR and a module reload while 4 processes run jobs on
# 8 queues: one KTAP result per fault (tests/kernel/knpu-fault-matrix.c).
knpu_add_guest_script(guest-fault-matrix ${CMAKE_SOURCE_DIR}/tests/kernel/fault-matrix.sh
	TIMEOUT 400 LABELS kernel)

# 8 processes x 4 queues of mixed jobs for 20 s, every seqno and result
# accounted for, no leak (tests/kernel/knpu-soak.c); `make soak` runs it longer.
knpu_add_guest_script(guest-soak ${CMAKE_SOURCE_DIR}/tests/kernel/soak.sh
	TIMEOUT 300 LABELS kernel)

set_property(GLOBAL PROPERTY KNPU_GUEST_GTESTS "")

function(knpu_add_guest_gtest target)
	cmake_parse_arguments(A "NO_DEBUG"
		"NAME;DEVICES;TIMEOUT;DEBUG_TIMEOUT;MODULE_PARAMS;DEVICE_OPTS;ALLOW_SPLAT"
		"ARGS;LABELS;ENV" ${ARGN})
	if(NOT A_NAME)
		# The target name's words less guest/test(s) and, unless it is the only
		# one left, knpu: knpu-guest-tests -> knpu, guest_queue_tests -> queue.
		string(REGEX REPLACE "[-_]" ";" words "${target}")
		list(REMOVE_ITEM words guest test tests)
		list(LENGTH words n)
		if(n GREATER 1)
			list(REMOVE_ITEM words knpu)
		endif()
		list(JOIN words "-" A_NAME)
		if(NOT A_NAME)
			set(A_NAME ${target})
		endif()
	endif()
	if(NOT A_DEVICES)
		set(A_DEVICES 1)
	endif()
	if(NOT A_TIMEOUT)
		set(A_TIMEOUT 600)
	endif()
	set(name guest-${A_NAME})
	# The harness's own limit is under CTest's, so the guest's kernel log is
	# still collected and printed when a suite hangs.
	math(EXPR inner "${A_TIMEOUT} - 30")
	set(envargs)
	foreach(e IN LISTS A_ENV)
		list(APPEND envargs --env "${e}")
	endforeach()
	if(A_MODULE_PARAMS)
		list(APPEND envargs --module-params "${A_MODULE_PARAMS}")
	endif()
	if(A_DEVICE_OPTS)
		list(APPEND envargs --device-opts "${A_DEVICE_OPTS}")
	endif()
	if(A_ALLOW_SPLAT)
		list(APPEND envargs --allow-splat "${A_ALLOW_SPLAT}")
	endif()
	add_test(NAME ${name}
		COMMAND ${KNPU_GUEST_RUN} --name ${name} --devices ${A_DEVICES} --timeout ${inner} ${envargs}
			-- $<TARGET_FILE:${target}> --gtest_output=xml:@RESULTS@/${name}.xml ${A_ARGS}
		WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
	set(labels guest ${A_LABELS})
	set_tests_properties(${name} PROPERTIES LABELS "${labels}" TIMEOUT ${A_TIMEOUT}
		COST 1 ENVIRONMENT "${_knpu_guest_env}")
	if(NOT A_NO_DEBUG AND KNPU_GUEST_DEBUG_TIER)
		_knpu_debug_timeout(${A_TIMEOUT} "${A_DEBUG_TIMEOUT}" dt)
		math(EXPR inner "${dt} - 30")
		add_test(NAME debug-${name}
			COMMAND ${KNPU_GUEST_RUN} --name debug-${name} --devices ${A_DEVICES} --timeout ${inner}
				${envargs} -- $<TARGET_FILE:${target}>
				--gtest_output=xml:@RESULTS@/debug-${name}.xml ${A_ARGS}
			WORKING_DIRECTORY ${CMAKE_BINARY_DIR})
		set_tests_properties(debug-${name} PROPERTIES LABELS debug
			TIMEOUT ${dt} COST ${dt} ENVIRONMENT "${_knpu_debug_env}")
	endif()
	set_property(GLOBAL APPEND PROPERTY KNPU_GUEST_GTESTS ${target})
endfunction()

# Automatic registration of the GoogleTest executables under tests/guest/.
function(_knpu_collect_targets dir out)
	get_property(t DIRECTORY ${dir} PROPERTY BUILDSYSTEM_TARGETS)
	get_property(subs DIRECTORY ${dir} PROPERTY SUBDIRECTORIES)
	foreach(s IN LISTS subs)
		_knpu_collect_targets(${s} st)
		list(APPEND t ${st})
	endforeach()
	set(${out} ${t} PARENT_SCOPE)
endfunction()

function(_knpu_register_guest_gtests)
	_knpu_collect_targets(${CMAKE_SOURCE_DIR} targets)
	get_property(done GLOBAL PROPERTY KNPU_GUEST_GTESTS)
	foreach(t IN LISTS targets)
		if(t IN_LIST done)
			continue()
		endif()
		get_target_property(type ${t} TYPE)
		if(NOT type STREQUAL "EXECUTABLE")
			continue()
		endif()
		get_target_property(skip ${t} KNPU_GUEST_SKIP)
		if(skip)
			continue()
		endif()
		get_target_property(srcdir ${t} SOURCE_DIR)
		get_target_property(srcs ${t} SOURCES)
		set(in_guest FALSE)
		foreach(s IN LISTS srcs)
			if(NOT IS_ABSOLUTE "${s}")
				set(s "${srcdir}/${s}")
			endif()
			if(s MATCHES "^${CMAKE_SOURCE_DIR}/tests/guest/")
				set(in_guest TRUE)
			endif()
		endforeach()
		get_target_property(libs ${t} LINK_LIBRARIES)
		if(NOT in_guest OR NOT "${libs}" MATCHES "gtest|GTest")
			continue()
		endif()
		set(opts)
		foreach(p DEVICES TIMEOUT DEBUG_TIMEOUT MODULE_PARAMS DEVICE_OPTS ALLOW_SPLAT)
			get_target_property(v ${t} KNPU_GUEST_${p})
			if(v)
				list(APPEND opts ${p} ${v})
			endif()
		endforeach()
		get_target_property(args ${t} KNPU_GUEST_ARGS)
		if(args)
			list(APPEND opts ARGS ${args})
		endif()
		knpu_add_guest_gtest(${t} ${opts})
	endforeach()
endfunction()

# Deferred to the end of the top-level directory, when every target exists.
# add_test() there still belongs to the top-level directory's CTest file.
cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _knpu_register_guest_gtests)
