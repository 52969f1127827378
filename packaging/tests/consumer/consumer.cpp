// A program built against an installed libnpu, as a runtime would be.
#include <iostream>
#include <npu/npu.hpp>

int main() {
  std::cout << "knpu devices: " << npu::enumerate_devices().size() << "\n";
  return 0;
}
