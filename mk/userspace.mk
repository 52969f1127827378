# The userspace part (owner: userspace): libnpu, tools and the GoogleTest
# suites, configured and built with CMake into $(BUILD). See docs/libnpu.md.
.PHONY: userspace deps-userspace format format-check

# Line tables only (-g1), not full debug info: backtraces, sanitizer reports
# and perf still name file and line, and objects compile about a third
# faster (docs/testing.md, "The userspace build"). For a build to step
# through with gdb: USERSPACE_CMAKE_FLAGS=-DCMAKE_BUILD_TYPE=Debug.
USERSPACE_CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo \
	'-DCMAKE_CXX_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG' '-DCMAKE_C_FLAGS_RELWITHDEBINFO=-O2 -g1 -DNDEBUG'

deps-userspace:
	@libnpu/scripts/install-deps.sh
	@cluster/scripts/install-deps.sh

userspace: deps-userspace
	cmake -S . -B $(BUILD) -G Ninja $(USERSPACE_CMAKE_FLAGS)
	cmake --build $(BUILD) -j $(JOBS)

# clang-format over libnpu, tools and the userspace tests, with the committed
# .clang-format.
USERSPACE_SOURCES = $(shell git ls-files --cached --others --exclude-standard \
	'libnpu/*.cpp' 'libnpu/*.hpp' 'libnpu/*.h' 'runtime/*.cpp' 'runtime/*.hpp' 'tools/*.cpp' 'tools/*.hpp' \
	'tests/host/*.cpp' 'tests/host/*.hpp' 'tests/host/*.c' 'tests/guest/*.cpp' 'tests/guest/*.hpp' 'tests/fuzz/*.cpp' \
	'cluster/*.cpp' 'cluster/*.hpp' 'packaging/*.cpp')

format: deps-userspace
	clang-format -i $(USERSPACE_SOURCES)

format-check: deps-userspace
	clang-format --dry-run --Werror $(USERSPACE_SOURCES)
