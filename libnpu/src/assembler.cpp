// Assembly text to kernel images. One line at a time: directives (.kernel,
// .arg, .equ, .macro/.endm), instructions and macro uses; errors carry the
// line and column.
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <algorithm>
#include <bit>
#include <charconv>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "npu/assembly.hpp"

namespace npu {
namespace {

using isa::OperandKind;

// A piece of a line with its 1-based column.
struct Token {
  std::string_view text;
  std::size_t column;
};

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r';
}

Token trim(Token token) {
  while (!token.text.empty() && is_space(token.text.front())) {
    token.text.remove_prefix(1);
    ++token.column;
  }
  while (!token.text.empty() && is_space(token.text.back())) {
    token.text.remove_suffix(1);
  }
  return token;
}

// Splits at `separator`, trimming each piece.
std::vector<Token> split(Token token, char separator) {
  std::vector<Token> pieces;
  std::size_t start = 0;
  while (true) {
    const std::size_t end = token.text.find(separator, start);
    const std::size_t stop = end == std::string_view::npos ? token.text.size() : end;
    pieces.push_back(trim({token.text.substr(start, stop - start), token.column + start}));
    if (end == std::string_view::npos) {
      return pieces;
    }
    start = end + 1;
  }
}

// Splits off the first whitespace-delimited word.
std::pair<Token, Token> first_word(Token token) {
  std::size_t end = 0;
  while (end < token.text.size() && !is_space(token.text[end]) && token.text[end] != '[') {
    ++end;
  }
  return {{token.text.substr(0, end), token.column},
          trim({token.text.substr(end), token.column + end})};
}

std::optional<std::uint32_t> parse_unsigned(std::string_view text) {
  int base = 10;
  if (text.starts_with("0x") || text.starts_with("0X")) {
    text.remove_prefix(2);
    base = 16;
  }
  std::uint32_t value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value, base);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return value;
}

// A float operand: 0x... is the raw binary32 pattern, anything else a decimal.
std::optional<std::uint32_t> parse_float_bits(std::string_view text) {
  if (text.starts_with("0x") || text.starts_with("0X")) {
    return parse_unsigned(text);
  }
  float value = 0;
  const auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (text.empty() || ec != std::errc{} || end != text.data() + text.size()) {
    return std::nullopt;
  }
  return std::bit_cast<std::uint32_t>(value);
}

class Assembler {
 public:
  explicit Assembler(const AssemblyOptions& options) : options_(options) {
    image_.source_name = options.line_table ? options.source_name : std::string();
  }

  KernelImage run(std::string_view source) {
    std::size_t line_number = 0;
    std::size_t start = 0;
    while (start <= source.size()) {
      const std::size_t end = std::min(source.find('\n', start), source.size());
      line_ = ++line_number;
      assemble_line(source.substr(start, end - start));
      start = end + 1;
    }
    if (recording_) {
      throw AssemblyError(recording_line_, 1, fmt::format("macro '{}' has no .endm", *recording_));
    }
    if (image_.name.empty()) {
      throw AssemblyError(line_number, 1, "missing .kernel directive");
    }
    if (image_.program.empty()) {
      throw AssemblyError(line_number, 1, "the kernel has no instructions");
    }
    try {
      validate(image_);
    } catch (const KernelFormatError& e) {
      throw AssemblyError(line_number, 1, e.what());
    }
    return std::move(image_);
  }

 private:
  [[noreturn]] void fail(std::size_t column, const std::string& reason) const {
    throw AssemblyError(line_, column, reason);
  }

  void assemble_line(std::string_view line) {
    const std::size_t comment = line.find_first_of(";#");
    const Token content = trim({line.substr(0, comment), 1});
    if (recording_) {
      record_macro_line(content);
      return;
    }
    if (content.text.empty()) {
      return;
    }
    if (content.text.front() == '.') {
      directive(content);
    } else if (const auto macro = macros_.find(std::string(first_word(content).first.text));
               macro != macros_.end()) {
      expand(macro->second, first_word(content).second);
    } else {
      instruction(content);
    }
  }

  // .macro NAME [PARAM, ...] ... .endm: the body's lines, with \PARAM
  // replaced by the arguments of each use (`NAME arg, ...`).
  struct Macro {
    std::vector<std::string> parameters;
    std::vector<std::string> body;
    std::size_t depth = 0;  // of nested uses, to stop a macro that uses itself
  };

  void macro_directive(Token rest) {
    const auto [name, parameters] = first_word(rest);
    if (!is_valid_name(name.text) || macros_.contains(std::string(name.text))) {
      fail(name.column, fmt::format("macro name '{}' is invalid or taken", name.text));
    }
    Macro macro;
    for (const Token& parameter :
         parameters.text.empty() ? std::vector<Token>{} : split(parameters, ',')) {
      if (!is_valid_name(parameter.text)) {
        fail(parameter.column, fmt::format("invalid macro parameter '{}'", parameter.text));
      }
      macro.parameters.emplace_back(parameter.text);
    }
    recording_ = std::string(name.text);
    recording_line_ = line_;
    macros_.emplace(*recording_, std::move(macro));
  }

  void record_macro_line(Token content) {
    if (content.text == ".endm") {
      recording_.reset();
    } else if (content.text.starts_with(".macro")) {
      fail(content.column, "a .macro inside a .macro");
    } else {
      macros_.at(*recording_).body.emplace_back(content.text);
    }
  }

  void expand(Macro& macro, Token arguments) {
    constexpr std::size_t kMaxDepth = 16;
    const std::vector<Token> values =
        arguments.text.empty() ? std::vector<Token>{} : split(arguments, ',');
    if (values.size() != macro.parameters.size()) {
      fail(arguments.column, fmt::format("the macro takes {} arguments, got {}",
                                         macro.parameters.size(), values.size()));
    }
    if (macro.depth == kMaxDepth) {
      fail(arguments.column, "macros nested too deep (a macro that uses itself?)");
    }
    ++macro.depth;
    for (std::string line : macro.body) {
      for (std::size_t i = 0; i < values.size(); ++i) {
        const std::string placeholder = "\\" + macro.parameters[i];
        for (std::size_t at = line.find(placeholder); at != std::string::npos;
             at = line.find(placeholder, at + values[i].text.size())) {
          line.replace(at, placeholder.size(), values[i].text);
        }
      }
      assemble_line(line);
    }
    --macro.depth;
  }

  // .equ NAME, VALUE: NAME stands for VALUE wherever an immediate operand goes.
  void equ_directive(Token rest) {
    const std::vector<Token> parts = split(rest, ',');
    if (parts.size() != 2 || !is_valid_name(parts[0].text)) {
      fail(rest.column, "expected .equ NAME, VALUE");
    }
    if (!constants_.emplace(std::string(parts[0].text), std::string(parts[1].text)).second) {
      fail(parts[0].column, fmt::format("constant '{}' defined twice", parts[0].text));
    }
  }

  void directive(Token content) {
    const auto [name, rest] = first_word(content);
    if (name.text == ".kernel") {
      kernel_directive(rest, name.column);
    } else if (name.text == ".arg") {
      arg_directive(rest);
    } else if (name.text == ".equ") {
      equ_directive(rest);
    } else if (name.text == ".macro") {
      macro_directive(rest);
    } else {
      fail(name.column, fmt::format("unknown directive '{}'", name.text));
    }
  }

  void kernel_directive(Token rest, std::size_t column) {
    if (!image_.name.empty()) {
      fail(column, "a second .kernel directive");
    }
    if (!is_valid_name(rest.text)) {
      fail(rest.column, fmt::format("invalid kernel name '{}'", rest.text));
    }
    image_.name = std::string(rest.text);
  }

  // .arg buffer NAME | .arg scalar NAME [int|float]
  void arg_directive(Token rest) {
    const auto [kind, name_and_type] = first_word(rest);
    const auto [name, type] = first_word(name_and_type);
    ArgumentInfo info;
    if (type.text == "float" && kind.text == "scalar") {
      info.scalar = ScalarKind::float32;
    } else if (type.text == "int" && kind.text == "scalar") {
      info.scalar = ScalarKind::integer;
    } else if (!type.text.empty()) {
      fail(type.column, fmt::format("'{}': only a scalar takes a type, int or float", type.text));
    }
    std::optional<SlotKind> slot_kind;
    if (kind.text == "buffer") {
      slot_kind = SlotKind::buffer;
    } else if (kind.text == "scalar") {
      slot_kind = SlotKind::scalar;
    } else {
      fail(kind.column, fmt::format("argument kind '{}' is neither buffer nor scalar", kind.text));
    }
    if (!is_valid_name(name.text)) {
      fail(name.column, fmt::format("invalid argument name '{}'", name.text));
    }
    if (image_.arguments.find(name.text)) {
      fail(name.column, fmt::format("argument '{}' declared twice", name.text));
    }
    image_.arguments.add(*slot_kind, std::string(name.text), info);
  }

  void instruction(Token content) {
    auto [mnemonic, rest] = first_word(content);
    isa::Instruction instruction;
    const isa::OpcodeInfo& op = opcode(mnemonic, instruction);
    if (rest.text.starts_with('[')) {
      const std::size_t close = rest.text.find(']');
      if (close == std::string_view::npos) {
        fail(rest.column, "flag list without ']'");
      }
      instruction.flags = flags(op, {rest.text.substr(1, close - 1), rest.column + 1});
      rest = trim({rest.text.substr(close + 1), rest.column + close + 1});
    }
    operands(op, rest, instruction);
    if (auto problem = isa::check(instruction)) {
      fail(mnemonic.column, problem->detail);
    }
    if (options_.line_table) {
      image_.line_table.push_back({static_cast<std::uint32_t>(image_.program.size() * 4),
                                   static_cast<std::uint32_t>(line_)});
    }
    isa::encode(instruction, image_.program);
    // The kernel declares the oldest instruction set that has all its
    // instructions (opcodes and flag values).
    image_.isa_version = std::max(image_.isa_version, isa::instruction_version(instruction));
  }

  const isa::OpcodeInfo& opcode(Token mnemonic, isa::Instruction& instruction) {
    const std::size_t dot = mnemonic.text.find('.');
    const std::string_view base = mnemonic.text.substr(0, dot);
    const isa::OpcodeInfo* op = isa::find_opcode(base);
    if (op == nullptr) {
      fail(mnemonic.column, fmt::format("unknown mnemonic '{}'", base));
    }
    instruction.opcode = op->opcode;
    if (dot != std::string_view::npos) {
      const std::string_view dtype_name = mnemonic.text.substr(dot + 1);
      const std::optional<isa::DataType> dtype = isa::find_data_type(dtype_name);
      if (!dtype || *dtype == isa::DataType::none) {
        fail(mnemonic.column + dot + 1, fmt::format("unknown data type '{}'", dtype_name));
      }
      instruction.dtype = *dtype;
    }
    if (!op->allows(instruction.dtype)) {
      fail(mnemonic.column, instruction.dtype == isa::DataType::none
                                ? fmt::format("{} needs a data type suffix", op->mnemonic)
                                : fmt::format("{} does not take data type {}", op->mnemonic,
                                              isa::name(instruction.dtype)));
    }
    return *op;
  }

  std::uint32_t flags(const isa::OpcodeInfo& op, Token list) {
    std::uint32_t flags = 0;
    std::map<std::string_view, bool> seen;
    for (const Token& item : split(list, ',')) {
      const std::size_t equals = item.text.find('=');
      const std::string_view field_name = trim({item.text.substr(0, equals), 0}).text;
      const isa::FlagField* field = find_field(op, field_name);
      if (field == nullptr) {
        fail(item.column, fmt::format("{} has no flag '{}'", op.mnemonic, field_name));
      }
      if (seen[field_name]) {
        fail(item.column, fmt::format("flag '{}' given twice", field_name));
      }
      seen[field_name] = true;
      flags |= flag_value(*field, item, equals) << field->shift;
    }
    return flags;
  }

  static const isa::FlagField* find_field(const isa::OpcodeInfo& op, std::string_view field_name) {
    for (const isa::FlagField& field : op.flag_fields) {
      if (field.name == field_name) {
        return &field;
      }
    }
    return nullptr;
  }

  std::uint32_t flag_value(const isa::FlagField& field, Token item, std::size_t equals) const {
    if (field.is_switch()) {
      if (equals != std::string_view::npos) {
        fail(item.column, fmt::format("flag '{}' takes no value", field.name));
      }
      return 1;
    }
    if (equals == std::string_view::npos) {
      fail(item.column, fmt::format("flag '{}' needs a value: {}={}", field.name, field.name,
                                    fmt::join(field.value_names, "|")));
    }
    const Token value = trim({item.text.substr(equals + 1), item.column + equals + 1});
    for (std::size_t v = 0; v < field.value_names.size(); ++v) {
      if (!field.value_names[v].empty() && field.value_names[v] == value.text) {
        return static_cast<std::uint32_t>(v);
      }
    }
    fail(value.column, fmt::format("'{}' is not a value of flag '{}'", value.text, field.name));
  }

  void operands(const isa::OpcodeInfo& op, Token list, isa::Instruction& instruction) {
    const std::vector<Token> items = list.text.empty() ? std::vector<Token>{} : split(list, ',');
    if (items.size() != op.operand_count()) {
      fail(list.column, fmt::format("{} takes {} operands, got {}", op.mnemonic, op.operand_count(),
                                    items.size()));
    }
    for (std::size_t i = 0; i < items.size(); ++i) {
      instruction.operands.push_back(operand(items[i], op.operand_kind(i, instruction.flags)));
    }
  }

  isa::Operand operand(Token item, OperandKind kind) const {
    if (const auto constant = constants_.find(std::string(item.text));
        constant != constants_.end()) {
      item.text = constant->second;
    }
    if (item.text.starts_with('@')) {
      return isa::Operand::argument(slot(item, kind));
    }
    if (kind == OperandKind::address) {
      fail(item.column,
           fmt::format("'{}': an address operand must be an argument (@name)", item.text));
    }
    const std::optional<std::uint32_t> word =
        kind == OperandKind::floating ? parse_float_bits(item.text) : parse_unsigned(item.text);
    if (!word) {
      fail(item.column,
           fmt::format("'{}' is not {}", item.text,
                       kind == OperandKind::floating ? "a float" : "a 32-bit unsigned number"));
    }
    return isa::Operand::immediate(*word);
  }

  std::uint32_t slot(Token item, OperandKind kind) const {
    const std::string_view name = item.text.substr(1);
    std::optional<std::uint32_t> index = parse_unsigned(name);
    if (!index) {
      index = image_.arguments.find(name);
    }
    if (!index || *index >= image_.arguments.size()) {
      fail(item.column, fmt::format("undeclared argument '{}'", item.text));
    }
    const bool wants_buffer = kind == OperandKind::address || kind == OperandKind::bias;
    const SlotKind wanted = wants_buffer ? SlotKind::buffer : SlotKind::scalar;
    if (image_.arguments[*index].kind != wanted) {
      fail(item.column,
           fmt::format("'{}' is a {} argument, this operand needs a {}", item.text,
                       wants_buffer ? "scalar" : "buffer", wants_buffer ? "buffer" : "scalar"));
    }
    return *index;
  }

  const AssemblyOptions& options_;
  KernelImage image_;
  std::size_t line_ = 0;
  std::map<std::string, std::string> constants_;
  std::map<std::string, Macro> macros_;
  std::optional<std::string> recording_;  // the macro whose body is being read
  std::size_t recording_line_ = 0;        // of its .macro directive
};

}  // namespace

AssemblyError::AssemblyError(std::size_t line, std::size_t column, const std::string& reason)
    : std::runtime_error(fmt::format("{}:{}: {}", line, column, reason)),
      line_(line),
      column_(column),
      reason_(reason) {}

KernelImage assemble(std::string_view source, const AssemblyOptions& options) {
  return Assembler(options).run(source);
}

}  // namespace npu
