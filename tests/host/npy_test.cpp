// npu-run's .npy reader and writer: files exactly as NumPy's np.save writes
// them, every header field checked, and every malformed file refused with
// the reason.
#include "npy.hpp"

#include <gtest/gtest.h>

#include <cstring>
#include <filesystem>
#include <string>
#include <vector>

namespace {

using npu_tools::NpyError;
using npu_tools::NpyHeader;
using npu_tools::NpyType;
using npu_tools::parse_npy;
using npu_tools::serialize_npy;

// A file as np.save(f, np.arange(6, dtype='<f4').reshape(2, 3)) writes it
// (NumPy 1.x, format 1.0): magic, version, header length 118, the dict
// padded with spaces to 128 bytes in all, '\n', then 6 floats.
std::vector<std::byte> numpy_file(std::string_view dict, std::uint8_t major = 1,
                                  std::span<const std::byte> data = {}) {
  std::string header(dict);
  const std::size_t prefix = major == 1 ? 10 : 12;
  header.append((64 - (prefix + header.size() + 1) % 64) % 64, ' ');
  header.push_back('\n');
  std::vector<std::byte> file;
  for (char c : std::string_view("\x93NUMPY")) {
    file.push_back(std::byte(c));
  }
  file.push_back(std::byte{major});
  file.push_back(std::byte{0});
  for (std::size_t i = 0; i < prefix - 8; ++i) {
    file.push_back(std::byte((header.size() >> (8 * i)) & 0xff));
  }
  for (char c : header) {
    file.push_back(std::byte(c));
  }
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

std::vector<std::byte> float_bytes(std::initializer_list<float> values) {
  std::vector<std::byte> bytes(values.size() * sizeof(float));
  std::memcpy(bytes.data(), std::data(values), bytes.size());
  return bytes;
}

std::string error_of(const std::vector<std::byte>& file) {
  try {
    parse_npy(file);
  } catch (const NpyError& e) {
    return e.what();
  }
  return "(accepted)";
}

TEST(Npy, ReadsWhatNumpyWrites) {
  const std::vector<std::byte> data = float_bytes({0, 1, 2, 3, 4, 5});
  const auto file =
      numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, data);
  ASSERT_EQ(file.size(), 128U + data.size()) << "np.save aligns the header to 64 bytes";
  const npu_tools::NpyArray array = parse_npy(file);
  EXPECT_EQ(array.header.type, NpyType::float32);
  EXPECT_EQ(array.header.shape, (std::vector<std::uint64_t>{2, 3}));
  EXPECT_FALSE(array.header.fortran_order);
  EXPECT_EQ(array.data, data);
}

TEST(Npy, EveryTypeScalarsAndVersions2And3) {
  struct Case {
    const char* descr;
    NpyType type;
  };
  for (const Case& c :
       {Case{"<f2", NpyType::float16}, Case{"<f8", NpyType::float64}, Case{"|i1", NpyType::int8},
        Case{"<i1", NpyType::int8}, Case{"|u1", NpyType::uint8}, Case{"<i4", NpyType::int32},
        Case{"<f4", NpyType::float32}, Case{"<i8", NpyType::int64}}) {
    for (std::uint8_t major : {1, 2, 3}) {
      const std::vector<std::byte> data(npu_tools::element_size(c.type) * 5, std::byte{7});
      const auto file = numpy_file(
          std::string("{'descr': '") + c.descr + "', 'fortran_order': False, 'shape': (5,), }",
          major, data);
      const npu_tools::NpyArray array = parse_npy(file);
      EXPECT_EQ(array.header.type, c.type) << c.descr;
      EXPECT_EQ(array.header.shape, std::vector<std::uint64_t>{5}) << c.descr;
      EXPECT_EQ(array.data, data) << c.descr << " version " << int{major};
    }
  }
  const auto scalar =
      parse_npy(numpy_file("{'descr': '<i4', 'fortran_order': False, 'shape': (), }", 1,
                           std::vector<std::byte>(4, std::byte{1})));
  EXPECT_TRUE(scalar.header.shape.empty());
  EXPECT_EQ(scalar.header.element_count(), 1U);
}

TEST(Npy, AcceptsAnyKeyOrderAndSpacingNumpyMayWrite) {
  const auto file = numpy_file(R"({"shape":(1,4L),"fortran_order":True,"descr":"<f4"})", 1,
                               float_bytes({1, 2, 3, 4}));
  const npu_tools::NpyArray array = parse_npy(file);
  EXPECT_EQ(array.header.shape, (std::vector<std::uint64_t>{1, 4}));
  EXPECT_TRUE(array.header.fortran_order) << "one non-unit dimension: same bytes as C order";
}

TEST(Npy, WritesWhatNumpyWrites) {
  const std::vector<std::byte> data = float_bytes({0, 1, 2, 3, 4, 5});
  const NpyHeader header{NpyType::float32, {2, 3}, false};
  EXPECT_EQ(serialize_npy(header, data),
            numpy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 1, data));
  const NpyHeader vector{NpyType::int8, {3}, false};
  const std::vector<std::byte> bytes(3, std::byte{0xff});
  EXPECT_EQ(serialize_npy(vector, bytes),
            numpy_file("{'descr': '|i1', 'fortran_order': False, 'shape': (3,), }", 1, bytes));
  EXPECT_THROW(serialize_npy(header, std::span(data).first(20)), NpyError);
}

TEST(Npy, RoundTripsThroughAFile) {
  const std::filesystem::path path =
      std::filesystem::path(testing::TempDir()) / "npy_round_trip.npy";
  const NpyHeader header{NpyType::float16, {2, 1, 3}, false};
  const std::vector<std::byte> data(12, std::byte{0x3c});
  npu_tools::write_npy_file(path, header, data);
  const npu_tools::NpyArray array = npu_tools::read_npy_file(path);
  EXPECT_EQ(array.header.type, header.type);
  EXPECT_EQ(array.header.shape, header.shape);
  EXPECT_EQ(array.data, data);
  std::filesystem::remove(path);
  EXPECT_THROW(npu_tools::read_npy_file(path), NpyError);
}

TEST(Npy, RefusesMalformedFilesWithTheReason) {
  const auto data = float_bytes({1, 2});
  const auto with = [&](std::string_view dict) { return numpy_file(dict, 1, data); };
  struct Case {
    std::vector<std::byte> file;
    std::string reason;
  };
  std::vector<std::byte> truncated =
      with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  truncated.pop_back();
  std::vector<std::byte> trailing =
      with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  trailing.push_back(std::byte{0});
  std::vector<std::byte> long_header =
      with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  long_header[8] = std::byte{0xff};
  std::vector<std::byte> version4 =
      with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  version4[6] = std::byte{4};
  std::vector<std::byte> no_newline =
      with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }");
  no_newline[127] = std::byte{' '};
  const std::vector<Case> cases = {
      {{}, "magic"},
      {float_bytes({1, 2, 3}), "magic"},
      {truncated, "needs 8 bytes of data, the file has 7"},
      {trailing, "needs 8 bytes of data, the file has 9"},
      {long_header, "runs past the end"},
      {version4, "version 4.0 is not supported"},
      {no_newline, "newline"},
      {with("{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }"), "little-endian"},
      {with("{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }"), "not a type the tools"},
      {with("{'descr': '<U1', 'fortran_order': False, 'shape': (2,), }"), "not a type the tools"},
      {with("{'descr': [('a', '<f4')], 'fortran_order': False, 'shape': (2,), }"),
       "expected a string"},
      {with("{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }"), "row-major"},
      {with("{'descr': '<f4', 'fortran_order': 0, 'shape': (2,), }"), "expected a string"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': (-2,), }"), "non-negative integer"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': 2, }"), "expected a string"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': '2', }"), "'shape' is not a tuple"},
      {with("{'descr': '<f4', 'fortran_order': False, }"),
       "exactly descr, fortran_order and shape"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'x': 1}"),
       "expected a string"},
      {with("{'descr': '<f4', 'descr': '<f4', 'shape': (2,), }"), "twice"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,)"), "expected '}'"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x"), "text after"},
      {with("{'descr': '<f4, 'fortran_order': False, 'shape': (2,), }"), "expected '}'"},
      {with("{'descr' '<f4', 'fortran_order': False, 'shape': (2,), }"), "expected ':'"},
      {with("{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296, 2), }"),
       "overflows 64 bits"},
  };
  for (const Case& c : cases) {
    EXPECT_NE(error_of(c.file).find(c.reason), std::string::npos)
        << "expected '" << c.reason << "', got: " << error_of(c.file);
  }
}

TEST(Npy, TypeNames) {
  EXPECT_EQ(npu_tools::parse_npy_type("fp32"), NpyType::float32);
  EXPECT_EQ(npu_tools::parse_npy_type("float16"), NpyType::float16);
  EXPECT_EQ(npu_tools::parse_npy_type("int8"), NpyType::int8);
  EXPECT_EQ(npu_tools::parse_npy_type("uint8"), NpyType::uint8);
  EXPECT_EQ(npu_tools::parse_npy_type("int32"), NpyType::int32);
  EXPECT_EQ(npu_tools::name(NpyType::float16), "float16");
  EXPECT_THROW(npu_tools::parse_npy_type("bf16"), NpyError);
  EXPECT_EQ(npu_tools::parse_npy_type("float64"), NpyType::float64);
  EXPECT_THROW(npu_tools::parse_npy_type("complex64"), NpyError);
}

}  // namespace
