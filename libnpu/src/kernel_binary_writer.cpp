// Writing kernel binaries.
#include <array>
#include <fstream>
#include <system_error>

#include "byte_io.hpp"
#include "kernel_binary_format.hpp"
#include "npu/kernel_image.hpp"

namespace npu {
namespace {

using namespace kernel_binary;

std::vector<std::byte> encode_arguments(const ArgumentLayout& layout) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  writer.u32(static_cast<std::uint32_t>(layout.size()));
  for (const ArgumentSlot& slot : layout.slots()) {
    writer.u8(static_cast<std::uint8_t>(slot.kind));
    writer.u8(static_cast<std::uint8_t>(slot.name.size()));
    writer.bytes(std::as_bytes(std::span(slot.name)));
  }
  return bytes;
}

std::vector<std::byte> encode_code(std::span<const std::uint32_t> program) {
  std::vector<std::byte> bytes;
  ByteWriter writer(bytes);
  for (std::uint32_t word : program) {
    writer.u32(word);
  }
  return bytes;
}

}  // namespace

std::vector<std::byte> serialize(const KernelImage& image) {
  validate(image);
  const std::vector<std::byte> name = [&] {
    const auto view = std::as_bytes(std::span(image.name));
    return std::vector<std::byte>(view.begin(), view.end());
  }();
  const std::vector<std::byte> arguments = encode_arguments(image.arguments);
  const std::vector<std::byte> code = encode_code(image.program);
  const std::array<std::pair<SectionType, const std::vector<std::byte>*>, 3> sections{
      {{SectionType::code, &code},
       {SectionType::arguments, &arguments},
       {SectionType::name, &name}}};

  const std::uint32_t table_end = kHeaderSize + kSectionEntrySize * sections.size();
  std::vector<std::byte> file;
  ByteWriter writer(file);
  std::uint32_t next_offset = table_end;
  const auto file_size =
      static_cast<std::uint32_t>(table_end + code.size() + arguments.size() + name.size());
  writer.u32(kMagic);
  writer.u16(kFormatVersionMajor);
  writer.u16(kFormatVersionMinor);
  writer.u32(kHeaderSize);
  writer.u32(0);
  writer.u32(image.isa_version);
  writer.u32(file_size);
  writer.u32(static_cast<std::uint32_t>(sections.size()));
  writer.u32(0);  // checksum, filled in last
  for (const auto& [type, bytes] : sections) {
    writer.u32(static_cast<std::uint32_t>(type));
    writer.u32(0);
    writer.u32(next_offset);
    writer.u32(static_cast<std::uint32_t>(bytes->size()));
    next_offset += static_cast<std::uint32_t>(bytes->size());
  }
  for (const auto& section : sections) {
    writer.bytes(*section.second);
  }
  ByteWriter::put_u32(std::span(file).subspan(kChecksumOffset, 4), checksum_of(file));
  return file;
}

void write_kernel_file(const std::string& path, const KernelImage& image) {
  const std::vector<std::byte> bytes = serialize(image);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()),
            static_cast<std::streamsize>(bytes.size()));
  out.close();
  if (!out) {
    throw std::system_error(errno, std::generic_category(), "cannot write " + path);
  }
}

}  // namespace npu
