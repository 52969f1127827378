# What the libFuzzer projects (loader/, model/) share: C++20, the knpu
# source tree, and knpu_libfuzzer(), an executable whose every object is
# instrumented with libFuzzer, ASan and UBSan (every UBSan report fatal).
set(CMAKE_CXX_STANDARD 20)
set(CMAKE_CXX_STANDARD_REQUIRED ON)
set(CMAKE_CXX_EXTENSIONS OFF)
if(NOT KNPU_SOURCE_DIR)
  message(FATAL_ERROR "KNPU_SOURCE_DIR: the knpu source tree")
endif()
set(libnpu ${KNPU_SOURCE_DIR}/libnpu/src)
set(runtime ${KNPU_SOURCE_DIR}/runtime/src)

function(knpu_libfuzzer target)
  add_executable(${target} ${ARGN})
  set(sanitizers -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all)
  target_compile_options(${target} PRIVATE ${sanitizers} -gline-tables-only -O1 -fno-omit-frame-pointer
                         -Wall -Wextra -Werror)
  target_link_options(${target} PRIVATE ${sanitizers})
  target_include_directories(${target} PRIVATE ${KNPU_SOURCE_DIR}/libnpu/include ${libnpu}
                             ${KNPU_SOURCE_DIR}/uapi)
endfunction()
