// The kernel binary format: writer layout, round trip, and every malformed
// file rejected with the error that says what is wrong.
#include <gtest/gtest.h>
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "npu/errors.hpp"
#include "npu/kernel_builder.hpp"
#include "npu/kernel_image.hpp"
#include "npu/kernel_module.hpp"

namespace {

using npu::KernelErrc;
using Bytes = std::vector<std::byte>;

// Offsets of the v1.0 layout the writer produces (docs/kernel-binary.md).
constexpr std::size_t kVersionMajor = 4;
constexpr std::size_t kHeaderSizeField = 8;
constexpr std::size_t kFlags = 12;
constexpr std::size_t kIsaVersion = 16;
constexpr std::size_t kFileSize = 20;
constexpr std::size_t kSectionCount = 24;
constexpr std::size_t kChecksum = 28;
constexpr std::size_t kTable = 32;
constexpr std::size_t kEntry = 16;
constexpr std::size_t kCodeEntry = kTable;
constexpr std::size_t kArgumentsEntry = kTable + kEntry;
constexpr std::size_t kNameEntry = kTable + 2 * kEntry;
// Fields of a section entry.
constexpr std::size_t kType = 0;
constexpr std::size_t kSectionFlags = 4;
constexpr std::size_t kOffset = 8;
constexpr std::size_t kSize = 12;

npu::KernelImage sample_image() {
  npu::KernelBuilder b("fill_copy");
  auto dst = b.arg_buffer("dst");
  auto src = b.arg_buffer("src");
  auto bytes = b.arg_scalar("bytes");
  b.dma_fill(src, bytes, 0xA5A5A5A5).dma_copy(dst, src, bytes);
  return b.build();
}

std::uint32_t get32(const Bytes& file, std::size_t offset) {
  std::uint32_t value = 0;
  for (std::size_t i = 0; i < 4; ++i) {
    value |= std::to_integer<std::uint32_t>(file.at(offset + i)) << (8 * i);
  }
  return value;
}

void put32(Bytes& file, std::size_t offset, std::uint32_t value) {
  for (std::size_t i = 0; i < 4; ++i) {
    file.at(offset + i) = static_cast<std::byte>(value >> (8 * i));
  }
}

// Recomputes the checksum after a deliberate edit, so that the checks behind
// it are reached (CRC-32 as zlib computes it, over the file with the checksum
// field zero).
void reseal(Bytes& file) {
  put32(file, kFileSize, static_cast<std::uint32_t>(file.size()));
  put32(file, kChecksum, 0);
  const uLong crc = crc32(crc32(0, nullptr, 0), reinterpret_cast<const Bytef*>(file.data()),
                          static_cast<uInt>(file.size()));
  put32(file, kChecksum, static_cast<std::uint32_t>(crc));
}

std::error_code parse_error(const Bytes& file) {
  try {
    npu::parse_kernel_binary(file);
  } catch (const npu::KernelFormatError& e) {
    return e.code();
  }
  return {};
}

TEST(KernelBinary, RoundTrips) {
  const npu::KernelImage image = sample_image();
  EXPECT_EQ(npu::parse_kernel_binary(npu::serialize(image)), image);
}

TEST(KernelBinary, HeaderLayout) {
  const Bytes file = npu::serialize(sample_image());
  EXPECT_EQ(std::memcmp(file.data(), "KNPK", 4), 0);
  EXPECT_EQ(get32(file, kVersionMajor), 0x0000'0001U);  // 1.0
  EXPECT_EQ(get32(file, kHeaderSizeField), 32U);
  EXPECT_EQ(get32(file, kFlags), 0U);
  EXPECT_EQ(get32(file, kIsaVersion), 0x0001'0000U);
  EXPECT_EQ(get32(file, kFileSize), file.size());
  EXPECT_EQ(get32(file, kSectionCount), 3U);
  EXPECT_EQ(get32(file, kCodeEntry + kType), 1U);
  EXPECT_EQ(get32(file, kCodeEntry + kOffset), 80U);
  EXPECT_EQ(get32(file, kCodeEntry + kSize), 2U * 6 * 4);
  EXPECT_EQ(get32(file, kArgumentsEntry + kType), 2U);
  EXPECT_EQ(get32(file, kNameEntry + kType), 3U);
  Bytes resealed = file;
  reseal(resealed);
  EXPECT_EQ(resealed, file) << "the checksum is not CRC-32 over the file with the field zero";
}

TEST(KernelBinary, EveryTruncationIsRejectedAsTruncated) {
  const Bytes file = npu::serialize(sample_image());
  for (std::size_t size = 0; size < file.size(); ++size) {
    const Bytes truncated(file.begin(), file.begin() + static_cast<std::ptrdiff_t>(size));
    EXPECT_EQ(parse_error(truncated), KernelErrc::truncated) << "size " << size;
  }
}

TEST(KernelBinary, EverySingleByteCorruptionIsRejected) {
  const Bytes file = npu::serialize(sample_image());
  for (std::size_t offset = 0; offset < file.size(); ++offset) {
    for (std::uint8_t flip : {0x01, 0x80, 0xff}) {
      Bytes corrupted = file;
      corrupted[offset] ^= std::byte{flip};
      const std::error_code error = parse_error(corrupted);
      EXPECT_TRUE(error) << "accepted a flip of " << int{flip} << " at byte " << offset;
      EXPECT_EQ(error, npu::errc::invalid_kernel);
    }
  }
}

TEST(KernelBinary, TrailingBytesAreASizeMismatch) {
  Bytes file = npu::serialize(sample_image());
  file.push_back(std::byte{0});
  EXPECT_EQ(parse_error(file), KernelErrc::size_mismatch);
}

struct Corruption {
  std::string_view name;
  void (*edit)(Bytes&);
  bool reseal;
  KernelErrc expected;
};

void PrintTo(const Corruption& corruption, std::ostream* out) {
  *out << corruption.name;
}

class KernelBinaryCorruption : public testing::TestWithParam<Corruption> {};

TEST_P(KernelBinaryCorruption, IsRejectedWithItsError) {
  Bytes file = npu::serialize(sample_image());
  GetParam().edit(file);
  if (GetParam().reseal) {
    reseal(file);
  }
  try {
    npu::parse_kernel_binary(file);
    FAIL() << "accepted";
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), GetParam().expected) << e.what();
    EXPECT_EQ(e.code(), npu::errc::invalid_kernel);
  }
}

// Byte offset of the first code word, the arguments and the name.
std::size_t code_at(const Bytes& f) {
  return get32(f, kCodeEntry + kOffset);
}
std::size_t arguments_at(const Bytes& f) {
  return get32(f, kArgumentsEntry + kOffset);
}
std::size_t name_at(const Bytes& f) {
  return get32(f, kNameEntry + kOffset);
}

INSTANTIATE_TEST_SUITE_P(
    Cases, KernelBinaryCorruption,
    testing::Values(
        Corruption{"BadMagic", [](Bytes& f) { f[0] = std::byte{'X'}; }, false,
                   KernelErrc::bad_magic},
        Corruption{"MajorVersion2", [](Bytes& f) { f[kVersionMajor] = std::byte{2}; }, true,
                   KernelErrc::unknown_version},
        // A 1.1 file must say what it requires; a 1.0 file cannot.
        Corruption{"MinorVersion1", [](Bytes& f) { f[kVersionMajor + 2] = std::byte{1}; }, true,
                   KernelErrc::missing_section},
        Corruption{"HeaderSize", [](Bytes& f) { put32(f, kHeaderSizeField, 48); }, true,
                   KernelErrc::bad_header},
        Corruption{"HeaderFlags", [](Bytes& f) { put32(f, kFlags, 1); }, true,
                   KernelErrc::bad_header},
        Corruption{"FileSizeLarger", [](Bytes& f) { put32(f, kFileSize, get32(f, kFileSize) + 1); },
                   false, KernelErrc::truncated},
        Corruption{"Checksum", [](Bytes& f) { put32(f, kChecksum, get32(f, kChecksum) ^ 1); },
                   false, KernelErrc::bad_checksum},
        Corruption{"CodeChanged", [](Bytes& f) { f[code_at(f) + 12] ^= std::byte{1}; }, false,
                   KernelErrc::bad_checksum},
        Corruption{"IsaMajor2", [](Bytes& f) { put32(f, kIsaVersion, 0x0002'0000); }, true,
                   KernelErrc::unsupported_isa},
        Corruption{"IsaNewerMinor", [](Bytes& f) { put32(f, kIsaVersion, 0x0001'0009); }, true,
                   KernelErrc::unsupported_isa},
        Corruption{"TooManySections", [](Bytes& f) { put32(f, kSectionCount, 17); }, true,
                   KernelErrc::section_out_of_bounds},
        Corruption{"TablePastTheEnd", [](Bytes& f) { put32(f, kSectionCount, 16); }, true,
                   KernelErrc::section_out_of_bounds},
        Corruption{"SectionPastTheEnd",
                   [](Bytes& f) { put32(f, kNameEntry + kSize, get32(f, kNameEntry + kSize) + 1); },
                   true, KernelErrc::section_out_of_bounds},
        Corruption{"SectionOffsetHuge",
                   [](Bytes& f) { put32(f, kCodeEntry + kOffset, 0xffff'fff0); }, true,
                   KernelErrc::section_out_of_bounds},
        Corruption{"SectionOverHeader", [](Bytes& f) { put32(f, kCodeEntry + kOffset, 8); }, true,
                   KernelErrc::section_overlap},
        Corruption{"SectionsOverlap",
                   [](Bytes& f) {
                     put32(f, kNameEntry + kOffset, static_cast<std::uint32_t>(arguments_at(f)));
                   },
                   true, KernelErrc::section_overlap},
        Corruption{"UnknownSectionType", [](Bytes& f) { put32(f, kNameEntry + kType, 9); }, true,
                   KernelErrc::unknown_section},
        Corruption{"DuplicateSection", [](Bytes& f) { put32(f, kNameEntry + kType, 2); }, true,
                   KernelErrc::duplicate_section},
        Corruption{"MissingSection", [](Bytes& f) { put32(f, kSectionCount, 2); }, true,
                   KernelErrc::missing_section},
        Corruption{"SectionFlags", [](Bytes& f) { put32(f, kArgumentsEntry + kSectionFlags, 1); },
                   true, KernelErrc::bad_section},
        Corruption{"BadName", [](Bytes& f) { f[name_at(f)] = std::byte{'9'}; }, true,
                   KernelErrc::bad_name},
        Corruption{"EmptyName", [](Bytes& f) { put32(f, kNameEntry + kSize, 0); }, true,
                   KernelErrc::bad_name},
        Corruption{"ArgumentsTooShort", [](Bytes& f) { put32(f, kArgumentsEntry + kSize, 3); },
                   true, KernelErrc::bad_argument_layout},
        Corruption{"SlotCountTooLarge", [](Bytes& f) { put32(f, arguments_at(f), 9000); }, true,
                   KernelErrc::bad_argument_layout},
        Corruption{"SlotCountPastSection", [](Bytes& f) { put32(f, arguments_at(f), 4); }, true,
                   KernelErrc::bad_argument_layout},
        Corruption{"SlotKind", [](Bytes& f) { f[arguments_at(f) + 4] = std::byte{2}; }, true,
                   KernelErrc::bad_argument_layout},
        Corruption{"SlotNamePastSection", [](Bytes& f) { f[arguments_at(f) + 5] = std::byte{200}; },
                   true, KernelErrc::bad_argument_layout},
        Corruption{"SlotNameInvalid", [](Bytes& f) { f[arguments_at(f) + 6] = std::byte{'-'}; },
                   true, KernelErrc::bad_argument_layout},
        Corruption{"SlotNameDuplicate",
                   [](Bytes& f) {  // slot 1 "src" renamed "dst"
                     const std::size_t name = arguments_at(f) + 4 + 5 + 2;
                     f[name] = std::byte{'d'};
                     f[name + 1] = std::byte{'s'};
                     f[name + 2] = std::byte{'t'};
                   },
                   true, KernelErrc::bad_argument_layout},
        Corruption{"TrailingArgumentBytes", [](Bytes& f) { put32(f, arguments_at(f), 2); }, true,
                   KernelErrc::bad_argument_layout},
        Corruption{"CodeNotWholeWords",
                   [](Bytes& f) { put32(f, kCodeEntry + kSize, get32(f, kCodeEntry + kSize) - 2); },
                   true, KernelErrc::program_not_whole_words},
        Corruption{"EmptyCode", [](Bytes& f) { put32(f, kCodeEntry + kSize, 0); }, true,
                   KernelErrc::program_not_whole_words},
        Corruption{"InstructionRunsPastCode",
                   [](Bytes& f) { put32(f, kCodeEntry + kSize, get32(f, kCodeEntry + kSize) - 4); },
                   true, KernelErrc::invalid_instruction},
        Corruption{"UnknownOpcode", [](Bytes& f) { f[code_at(f)] = std::byte{0x7f}; }, true,
                   KernelErrc::invalid_instruction},
        Corruption{"ReservedBits", [](Bytes& f) { f[code_at(f) + 3] = std::byte{1}; }, true,
                   KernelErrc::invalid_instruction},
        Corruption{"UndefinedFlags", [](Bytes& f) { put32(f, code_at(f) + 4, 1); }, true,
                   KernelErrc::invalid_instruction},
        Corruption{"SlotIndexOutOfRange", [](Bytes& f) { put32(f, code_at(f) + 12, 3); }, true,
                   KernelErrc::argument_mismatch},
        Corruption{"AddressFromScalarSlot", [](Bytes& f) { put32(f, code_at(f) + 12, 2); }, true,
                   KernelErrc::argument_mismatch}),
    [](const testing::TestParamInfo<Corruption>& param_info) {
      return std::string(param_info.param.name);
    });

TEST(KernelBinary, ErrorsSayWhatIsWrong) {
  Bytes file = npu::serialize(sample_image());
  file[code_at(file) + 24] = std::byte{0x7f};  // the second instruction's opcode
  reseal(file);
  try {
    npu::parse_kernel_binary(file);
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_NE(std::string(e.what()).find("instruction at byte 24"), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("unknown opcode"), std::string::npos) << e.what();
  }
}

TEST(KernelBinary, FilesRoundTrip) {
  const auto path = std::filesystem::temp_directory_path() / "libnpu-host-test.knpu";
  npu::write_kernel_file(path.string(), sample_image());
  EXPECT_EQ(npu::read_kernel_file(path.string()), sample_image());
  std::filesystem::remove(path);
  EXPECT_THROW(npu::read_kernel_file(path.string()), std::system_error);
}

TEST(KernelBinary, WriterRefusesInvalidImages) {
  npu::KernelImage image = sample_image();
  image.program.push_back(0x7f);
  EXPECT_THROW(npu::serialize(image), npu::KernelFormatError);
  image = sample_image();
  image.name = "not a name";
  EXPECT_THROW(npu::serialize(image), npu::KernelFormatError);
}

}  // namespace

namespace {

// The section entry of `type` (of kernel 0) in a file.
std::size_t entry_of(const Bytes& file, std::uint32_t type) {
  for (std::size_t i = 0; i < get32(file, kSectionCount); ++i) {
    if (get32(file, kTable + i * kEntry + kType) == type) {
      return kTable + i * kEntry;
    }
  }
  ADD_FAILURE() << "no section of type " << type;
  return 0;
}

// rmsnorm with every piece of 1.1 metadata.
npu::KernelImage metadata_image() {
  npu::KernelBuilder b("norm");
  const auto in = b.arg_buffer("in");
  const auto out = b.arg_buffer("out");
  const auto gamma = b.arg_buffer("gamma");
  const auto eps = b.arg_scalar("eps");
  b.rmsnorm(npu::isa::DataType::fp32, in, out, gamma, 1U, 8U, eps);
  npu::KernelImage image = b.build();
  image.arguments.set_info(0, {.access = npu::Access::read,
                               .dtype = static_cast<std::uint8_t>(npu::isa::DataType::fp32),
                               .alignment = 64,
                               .size = 32});
  image.arguments.set_info(3, {.scalar = npu::ScalarKind::float32});
  image.workspace_size = 1 << 20;
  image.constants.push_back({2, Bytes(32, std::byte{0x3f})});
  image.source_name = "norm.s";
  image.line_table = {{0, 7}};
  return image;
}

}  // namespace

TEST(KernelBinary11, AFormat10FileStillLoadsAndIsStillWritten) {
  std::ifstream in(KNPU_HOST_FIXTURES "/fill_copy-1.0.knpu", std::ios::binary);
  ASSERT_TRUE(in) << "fixture missing";
  const std::vector<char> raw{std::istreambuf_iterator<char>(in), {}};
  const std::span<const std::byte> fixture = std::as_bytes(std::span(raw));
  EXPECT_EQ(std::to_integer<int>(fixture[kVersionMajor + 2]), 0) << "the fixture is a 1.0 file";
  EXPECT_EQ(npu::parse_kernel_binary(fixture), sample_image());
  const Bytes written = npu::serialize(sample_image());
  EXPECT_TRUE(std::ranges::equal(written, fixture)) << "a plain kernel is no longer written as 1.0";
}

TEST(KernelBinary11, MetadataRoundTrips) {
  const npu::KernelImage image = metadata_image();
  const Bytes file = npu::serialize(image);
  EXPECT_EQ(get32(file, kVersionMajor), 0x0001'0001U);  // 1.1
  EXPECT_EQ(npu::parse_kernel_binary(file), image);
}

TEST(KernelBinary11, AModuleHoldsSeveralKernels) {
  npu::KernelModule module{{sample_image(), metadata_image()}};
  const Bytes file = npu::serialize(module);
  EXPECT_EQ(npu::parse_kernel_module(file), module);
  EXPECT_EQ(npu::find_kernel(module, "norm").name, "norm");
  try {
    static_cast<void>(npu::find_kernel(module, "gemm"));
    FAIL();
  } catch (const npu::KernelFormatError& e) {
    EXPECT_EQ(e.code(), KernelErrc::no_such_kernel);
    EXPECT_NE(std::string(e.what()).find("it has fill_copy, norm"), std::string::npos) << e.what();
  }
  EXPECT_EQ(parse_error(file), KernelErrc::bad_header) << "one kernel expected, a module given";
  module.kernels.push_back(sample_image());
  EXPECT_THROW(npu::serialize(module), npu::KernelFormatError) << "two kernels of one name";
}

TEST(KernelBinary11, UnknownOptionalSectionsAreSkippedOthersRefused) {
  Bytes file = npu::serialize(metadata_image());
  // The line table becomes a section type a newer writer might add.
  put32(file, entry_of(file, 8) + kType, 99);
  reseal(file);
  npu::KernelImage without_lines = metadata_image();
  without_lines.source_name.clear();
  without_lines.line_table.clear();
  EXPECT_EQ(npu::parse_kernel_binary(file), without_lines);
  put32(file, entry_of(file, 99) + kSectionFlags, 0);  // no longer optional
  reseal(file);
  EXPECT_EQ(parse_error(file), KernelErrc::unknown_section);
}

TEST(KernelBinary11, MalformedMetadataIsRefused) {
  const Bytes good = npu::serialize(metadata_image());
  Bytes file = good;
  put32(file, get32(file, entry_of(file, 5) + kOffset), 0);  // requirements: no opcode
  reseal(file);
  EXPECT_EQ(parse_error(file), KernelErrc::bad_metadata);
  file = good;
  put32(file, entry_of(file, 7) + kSize, 4);  // a constant of no bytes
  reseal(file);
  EXPECT_EQ(parse_error(file), KernelErrc::bad_metadata);
  file = good;
  put32(file, entry_of(file, 5) + kSectionFlags, 1U << 16);  // requirements of a kernel 1
  reseal(file);
  EXPECT_EQ(parse_error(file), KernelErrc::missing_section);
  file = good;
  put32(file, entry_of(file, 4) + kSectionFlags, 2);  // an undefined flag
  reseal(file);
  EXPECT_EQ(parse_error(file), KernelErrc::bad_section);
}
