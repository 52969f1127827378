# The userspace part (owner: userspace): libnpu, tools and the GoogleTest
# suites, configured and built with CMake into $(BUILD). See docs/libnpu.md.
.PHONY: userspace deps-userspace format format-check

USERSPACE_CMAKE_FLAGS ?= -DCMAKE_BUILD_TYPE=RelWithDebInfo

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
