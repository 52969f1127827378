# ctest -P script: assembles SOURCE with NPU_ASM, disassembles the result and
# requires the text to come back byte for byte.
execute_process(COMMAND ${NPU_ASM} ${SOURCE} -o ${WORK}.knpu RESULT_VARIABLE assembled)
if(NOT assembled EQUAL 0)
  message(FATAL_ERROR "npu-asm ${SOURCE} failed")
endif()
execute_process(COMMAND ${NPU_ASM} -d ${WORK}.knpu OUTPUT_VARIABLE text RESULT_VARIABLE disassembled)
file(READ ${SOURCE} expected)
# The disassembler prints canonical text: compare without the source's comments.
string(REGEX REPLACE ";[^\n]*\n" "" expected "${expected}")
if(NOT disassembled EQUAL 0 OR NOT text STREQUAL expected)
  message(FATAL_ERROR "round trip differs:\n--- expected\n${expected}--- got\n${text}")
endif()
