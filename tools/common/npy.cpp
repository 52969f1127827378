#include "npy.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <optional>
#include <variant>

namespace npu_tools {
namespace {

constexpr std::array<char, 6> kMagic = {'\x93', 'N', 'U', 'M', 'P', 'Y'};
constexpr std::size_t kHeaderAlignment = 64;

struct TypeInfo {
  NpyType type;
  std::string_view name;
  std::string_view isa_name;  // the npu-asm dtype spelling, empty if none
  std::string_view descr;     // what np.save writes
  std::size_t size;
};

constexpr std::array<TypeInfo, 8> kTypes = {{
    {NpyType::float32, "float32", "fp32", "<f4", 4},
    {NpyType::float16, "float16", "fp16", "<f2", 2},
    {NpyType::int8, "int8", "int8", "|i1", 1},
    {NpyType::uint8, "uint8", "", "|u1", 1},
    {NpyType::int32, "int32", "int32", "<i4", 4},
    {NpyType::int64, "int64", "", "<i8", 8},
    {NpyType::boolean, "bool", "", "|b1", 1},
    {NpyType::float64, "float64", "", "<f8", 8},
}};

const TypeInfo& info(NpyType type) {
  return *std::ranges::find(kTypes, type, &TypeInfo::type);
}

NpyType type_from_descr(std::string_view descr) {
  // Byte order, kind and size: '<f4'. Single bytes have no order ('|i1').
  const std::string_view kind = descr.size() == 3 ? descr.substr(1) : std::string_view{};
  const auto match =
      std::ranges::find_if(kTypes, [&](const TypeInfo& t) { return t.descr.substr(1) == kind; });
  if (match == kTypes.end() || std::string_view("<|=>").find(descr[0]) == std::string_view::npos) {
    throw NpyError(fmt::format(
        "descr '{}' is not a type the tools exchange (float32, float16, float64, int8, uint8, "
        "int32, int64, bool)",
        descr));
  }
  if (match->size > 1 && descr[0] != '<') {
    throw NpyError(fmt::format("descr '{}': only little-endian data is supported", descr));
  }
  return match->type;
}

// The header is a Python dict literal: {'descr': '<f4', 'fortran_order':
// False, 'shape': (2, 3), }. A small tokenizer and parser for exactly the
// literals it may hold: strings, True/False, integers and tuples of them.
using Tuple = std::vector<std::uint64_t>;
using Literal = std::variant<std::string, bool, Tuple>;

class DictParser {
 public:
  explicit DictParser(std::string_view text) : text_(text) {}

  std::map<std::string, Literal, std::less<>> parse() {
    std::map<std::string, Literal, std::less<>> dict;
    expect('{');
    while (!accept('}')) {
      std::string key = parse_string();
      expect(':');
      if (!dict.emplace(std::move(key), parse_value()).second) {
        fail("a key appears twice");
      }
      if (!accept(',')) {
        expect('}');
        break;
      }
    }
    skip_space();
    if (pos_ != text_.size()) {
      fail("text after the dict");
    }
    return dict;
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    throw NpyError(fmt::format("header dict at offset {}: {}", pos_, what));
  }

  void skip_space() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_])) != 0) {
      ++pos_;
    }
  }

  bool accept(char c) {
    skip_space();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }

  void expect(char c) {
    if (!accept(c)) {
      fail(fmt::format("expected '{}'", c));
    }
  }

  std::string parse_string() {
    skip_space();
    if (pos_ >= text_.size() || (text_[pos_] != '\'' && text_[pos_] != '"')) {
      fail("expected a string");
    }
    const char quote = text_[pos_++];
    const std::size_t end = text_.find(quote, pos_);
    if (end == std::string_view::npos) {
      fail("unterminated string");
    }
    std::string value(text_.substr(pos_, end - pos_));
    if (value.find('\\') != std::string::npos) {
      fail("escapes in strings are not supported");
    }
    pos_ = end + 1;
    return value;
  }

  std::uint64_t parse_integer() {
    skip_space();
    std::uint64_t value = 0;
    const char* begin = text_.data() + pos_;
    const auto [end, ec] = std::from_chars(begin, text_.data() + text_.size(), value);
    if (ec != std::errc{}) {
      fail("expected a non-negative integer");
    }
    pos_ += static_cast<std::size_t>(end - begin);
    accept('L');  // Python 2's long suffix, in files written by old NumPy
    return value;
  }

  Tuple parse_tuple() {
    Tuple tuple;
    while (!accept(')')) {
      tuple.push_back(parse_integer());
      if (!accept(',')) {
        expect(')');
        break;
      }
    }
    return tuple;
  }

  Literal parse_value() {
    skip_space();
    if (accept('(')) {
      return parse_tuple();
    }
    for (const auto& [word, value] : {std::pair{"True", true}, std::pair{"False", false}}) {
      if (text_.substr(pos_).starts_with(word)) {
        pos_ += std::string_view(word).size();
        return value;
      }
    }
    return parse_string();
  }

  std::string_view text_;
  std::size_t pos_ = 0;
};

template <class T>
const T& field(const std::map<std::string, Literal, std::less<>>& dict, std::string_view key,
               std::string_view kind) {
  const auto it = dict.find(key);
  if (it == dict.end()) {
    throw NpyError(fmt::format("header has no '{}'", key));
  }
  const T* value = std::get_if<T>(&it->second);
  if (value == nullptr) {
    throw NpyError(fmt::format("header '{}' is not {}", key, kind));
  }
  return *value;
}

// Column-major and row-major are the same bytes when at most one dimension
// is longer than 1.
bool layout_matters(const std::vector<std::uint64_t>& shape) {
  return std::ranges::count_if(shape, [](std::uint64_t d) { return d > 1; }) > 1;
}

NpyHeader parse_header_dict(std::string_view text) {
  const auto dict = DictParser(text).parse();
  if (dict.size() != 3) {
    throw NpyError("header must hold exactly descr, fortran_order and shape");
  }
  NpyHeader header;
  header.type = type_from_descr(field<std::string>(dict, "descr", "a string"));
  header.fortran_order = field<bool>(dict, "fortran_order", "True or False");
  header.shape = field<Tuple>(dict, "shape", "a tuple");
  if (header.fortran_order && layout_matters(header.shape)) {
    throw NpyError(
        "fortran_order arrays are not supported: the device's tensors are row-major "
        "(save np.ascontiguousarray(a))");
  }
  return header;
}

std::uint64_t read_le(std::span<const std::byte> bytes) {
  std::uint64_t value = 0;
  for (std::size_t i = bytes.size(); i-- > 0;) {
    value = value << 8 | std::to_integer<std::uint64_t>(bytes[i]);
  }
  return value;
}

std::string shape_literal(const std::vector<std::uint64_t>& shape) {
  if (shape.size() == 1) {
    return fmt::format("({},)", shape[0]);
  }
  return fmt::format("({})", fmt::join(shape, ", "));
}

}  // namespace

std::string_view name(NpyType type) {
  return info(type).name;
}

NpyType parse_npy_type(std::string_view text) {
  for (const TypeInfo& t : kTypes) {
    if (text == t.name || (!t.isa_name.empty() && text == t.isa_name)) {
      return t.type;
    }
  }
  throw NpyError(
      fmt::format("'{}' is not one of float32 (fp32), float16 (fp16), int8, uint8, "
                  "int32, int64, bool",
                  text));
}

std::size_t element_size(NpyType type) {
  return info(type).size;
}

std::uint64_t NpyHeader::element_count() const {
  std::uint64_t count = 1;
  for (std::uint64_t dimension : shape) {
    if (dimension != 0 && count > std::numeric_limits<std::uint64_t>::max() / dimension) {
      throw NpyError(fmt::format("shape {} overflows 64 bits", shape_literal(shape)));
    }
    count *= dimension;
  }
  return count;
}

std::uint64_t NpyHeader::data_size() const {
  const std::uint64_t count = element_count();
  const std::uint64_t size = element_size(type);
  if (count > std::numeric_limits<std::uint64_t>::max() / size) {
    throw NpyError(fmt::format("shape {} overflows 64 bits", shape_literal(shape)));
  }
  return count * size;
}

NpyArray parse_npy(std::span<const std::byte> file) {
  if (file.size() < 10 || !std::equal(kMagic.begin(), kMagic.end(), file.begin(),
                                      [](char c, std::byte b) { return std::byte(c) == b; })) {
    throw NpyError("not a .npy file (no \\x93NUMPY magic)");
  }
  const auto major = std::to_integer<unsigned>(file[6]);
  if (major < 1 || major > 3) {
    throw NpyError(fmt::format("format version {}.{} is not supported (1.0 to 3.0 are)", major,
                               std::to_integer<unsigned>(file[7])));
  }
  const std::size_t length_size = major == 1 ? 2 : 4;
  const std::size_t header_start = 8 + length_size;
  if (file.size() < header_start) {
    throw NpyError("file ends inside the header length");
  }
  const std::uint64_t header_length = read_le(file.subspan(8, length_size));
  if (header_length > file.size() - header_start) {
    throw NpyError(fmt::format("header of {} bytes runs past the end of the file", header_length));
  }
  const std::string_view text(reinterpret_cast<const char*>(file.data()) + header_start,
                              header_length);
  if (text.empty() || text.back() != '\n') {
    throw NpyError("header does not end with a newline");
  }
  NpyArray array{parse_header_dict(text), {}};
  const std::span<const std::byte> data = file.subspan(header_start + header_length);
  if (data.size() != array.header.data_size()) {
    throw NpyError(fmt::format("shape {} of {} needs {} bytes of data, the file has {}",
                               shape_literal(array.header.shape), name(array.header.type),
                               array.header.data_size(), data.size()));
  }
  array.data.assign(data.begin(), data.end());
  return array;
}

std::vector<std::byte> serialize_npy(const NpyHeader& header, std::span<const std::byte> data) {
  if (data.size() != header.data_size()) {
    throw NpyError(fmt::format("{} bytes of data for shape {} of {} ({} bytes)", data.size(),
                               shape_literal(header.shape), name(header.type), header.data_size()));
  }
  std::string dict =
      fmt::format("{{'descr': '{}', 'fortran_order': {}, 'shape': {}, }}", info(header.type).descr,
                  header.fortran_order ? "True" : "False", shape_literal(header.shape));
  const std::size_t unpadded = kMagic.size() + 2 + 2 + dict.size() + 1;
  dict.append((kHeaderAlignment - unpadded % kHeaderAlignment) % kHeaderAlignment, ' ');
  dict.push_back('\n');
  if (dict.size() > std::numeric_limits<std::uint16_t>::max()) {
    throw NpyError("header too long for format version 1.0");
  }
  std::vector<std::byte> file;
  file.reserve(10 + dict.size() + data.size());
  for (char c : kMagic) {
    file.push_back(std::byte(c));
  }
  file.push_back(std::byte{1});
  file.push_back(std::byte{0});
  file.push_back(std::byte(dict.size() & 0xff));
  file.push_back(std::byte(dict.size() >> 8));
  for (char c : dict) {
    file.push_back(std::byte(c));
  }
  file.insert(file.end(), data.begin(), data.end());
  return file;
}

NpyArray read_npy_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    throw NpyError(fmt::format("{}: cannot open", path.string()));
  }
  std::vector<char> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  try {
    return parse_npy(std::as_bytes(std::span(bytes)));
  } catch (const NpyError& e) {
    throw NpyError(fmt::format("{}: {}", path.string(), e.what()));
  }
}

void write_npy_file(const std::filesystem::path& path, const NpyHeader& header,
                    std::span<const std::byte> data) {
  const std::vector<std::byte> file = serialize_npy(header, data);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(file.data()), static_cast<std::streamsize>(file.size()));
  out.close();
  if (!out) {
    throw NpyError(fmt::format("{}: cannot write", path.string()));
  }
}

}  // namespace npu_tools
