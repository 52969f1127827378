// Prints the CDI spec of the two-NPU fixture, for the schema test
// (cdi-schema-test.sh) on a host without NPUs.
#include <iostream>

#include "knpu_cluster/cdi_spec.hpp"
#include "npu_fixtures.hpp"

int main() {
  std::cout << knpu::cluster::make_cdi_spec(knpu::cluster::testing::two_npus()).dump(2) << "\n";
  return 0;
}
