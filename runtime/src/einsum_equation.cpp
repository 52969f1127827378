#include "einsum_equation.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>
#include <utility>

namespace npu::onnx_runtime {
namespace {

constexpr std::string_view kEllipsis = "...";
constexpr std::size_t kMaxEllipsisAxes = 10;

std::size_t named_axes(const std::string& term) {
  return static_cast<std::size_t>(
      std::ranges::count_if(term, [](unsigned char c) { return std::isalpha(c) != 0; }));
}

// `term` with its "..." replaced by the last `rank - named` labels of
// `ellipsis` (broadcasting aligns axes from the right); std::nullopt for
// anything but letters and one "...", or a rank it does not match.
std::optional<std::string> expand(const std::string& term, std::size_t rank,
                                  const std::string& ellipsis) {
  const std::size_t named = named_axes(term);
  const std::size_t at = term.find(kEllipsis);
  std::string labels = term;
  if (at != std::string::npos) {
    if (rank < named || rank - named > ellipsis.size()) {
      return std::nullopt;
    }
    labels.replace(at, kEllipsis.size(), ellipsis.substr(ellipsis.size() - (rank - named)));
  }
  if (labels.size() != rank || !std::ranges::all_of(labels, [&](unsigned char c) {
        return std::isalpha(c) != 0 || ellipsis.find(static_cast<char>(c)) != std::string::npos;
      })) {
    return std::nullopt;
  }
  return labels;
}

}  // namespace

bool has_repeated_label(std::string labels) {
  std::ranges::sort(labels);
  return std::ranges::adjacent_find(labels) != labels.end();
}

std::optional<EinsumEquation> parse_einsum(std::string text,
                                           const std::vector<std::size_t>& ranks) {
  std::erase(text, ' ');
  const std::size_t arrow = text.find("->");
  std::vector<std::string> terms{""};
  for (const char c : text.substr(0, arrow)) {
    if (c == ',') {
      terms.emplace_back();
    } else {
      terms.back() += c;
    }
  }
  if (terms.size() != ranks.size()) {
    return std::nullopt;
  }
  std::size_t width = 0;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    if (terms[i].find(kEllipsis) != std::string::npos && ranks[i] >= named_axes(terms[i])) {
      width = std::max(width, ranks[i] - named_axes(terms[i]));
    }
  }
  if (width > kMaxEllipsisAxes) {
    return std::nullopt;
  }
  std::string ellipsis;
  for (std::size_t k = 0; k < width; ++k) {
    ellipsis += static_cast<char>('0' + k);
  }
  EinsumEquation e;
  std::map<char, int> uses;
  for (std::size_t i = 0; i < terms.size(); ++i) {
    std::optional<std::string> labels = expand(terms[i], ranks[i], ellipsis);
    if (!labels) {
      return std::nullopt;
    }
    for (const char c : *labels) {
      ++uses[c];
    }
    e.operands.push_back(std::move(*labels));
  }
  if (arrow == std::string::npos) {  // implicit: the ellipsis, then labels used once, sorted
    e.output = ellipsis;
    for (const auto& [label, count] : uses) {
      if (count == 1 && std::isalpha(static_cast<unsigned char>(label)) != 0) {
        e.output += label;
      }
    }
  } else {
    const std::string rhs = text.substr(arrow + 2);
    const std::size_t rank =
        named_axes(rhs) + (rhs.find(kEllipsis) != std::string::npos ? width : 0);
    std::optional<std::string> labels = expand(rhs, rank, ellipsis);
    if (!labels || has_repeated_label(*labels)) {
      return std::nullopt;
    }
    e.output = std::move(*labels);
  }
  for (const char c : e.output) {
    if (!uses.contains(c)) {
      return std::nullopt;
    }
  }
  return e;
}

std::optional<Shape> einsum_output_shape(const std::string& equation,
                                         const std::vector<Shape>& operands) {
  std::vector<std::size_t> ranks;
  for (const Shape& s : operands) {
    ranks.push_back(s.size());
  }
  const std::optional<EinsumEquation> e = parse_einsum(equation, ranks);
  if (!e) {
    return std::nullopt;
  }
  std::map<char, std::int64_t> sizes;
  for (std::size_t i = 0; i < operands.size(); ++i) {
    for (std::size_t axis = 0; axis < operands[i].size(); ++axis) {
      const char label = e->operands[i][axis];
      const std::int64_t size = operands[i][axis];
      const auto [it, first] = sizes.emplace(label, size);
      if (!first && it->second != size) {
        if (it->second != 1 && size != 1) {
          return std::nullopt;
        }
        it->second = std::max(it->second, size);
      }
    }
  }
  Shape out;
  for (const char label : e->output) {
    out.push_back(sizes.at(label));
  }
  return out;
}

}  // namespace npu::onnx_runtime
