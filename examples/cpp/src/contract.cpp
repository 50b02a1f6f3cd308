// The model contract: parse and validate the JSON an exported model carries with the checks, in
// the order and with the messages of edgederain/contract.py (IOContract.from_json, from_dict,
// __post_init__ and _validate): strict JSON types, bounded text (size, nesting, entries, string
// length), duplicate keys refused, missing fields taking IOContract's defaults.
//
// Note: Python's json accepts the non-standard NaN / Infinity / -Infinity (an export's parity
// figures may hold them); nlohmann-json refuses them, so they are read here as null and as the
// largest finite double, and such a contract parses on both sides. Integers wider than 64 bits
// (which nlohmann-json reads as floats) are reported as floats, where Python says "an integer of N
// bits"; both refuse them.
#include <algorithm>
#include <cctype>
#include <cstdio>
#include <optional>
#include <set>

#include <nlohmann/json.hpp>

#include "edgederain/derain.hpp"
#include "pyfmt.hpp"

namespace edgederain {
namespace {

using Json = nlohmann::ordered_json;  // keeps the key order, as Python's json.loads does

constexpr std::size_t kMaxJsonChars = 1 << 20;
constexpr int kMaxDepth = 32;
constexpr std::size_t kMaxItems = 4096;
constexpr std::size_t kMaxString = 4096;
constexpr std::int64_t kMaxInt = 2147483647;

const std::vector<std::string>& known_fields() {  // sorted, as the "known:" list prints them
  static const std::vector<std::string> names = {
      "calibration", "checkpoint_sha256", "color", "created", "dtype", "input_name", "input_shape",
      "layout", "min_size", "model_config", "opset", "output_name", "parity", "precision", "producer",
      "schema_version", "size_multiple", "value_range", "variant", "versions"};
  return names;
}

std::size_t code_points(const std::string& s) {
  return static_cast<std::size_t>(std::count_if(s.begin(), s.end(), [](char c) {
    return (static_cast<unsigned char>(c) & 0xC0) != 0x80;
  }));
}

// _show() of a string: its first 40 characters, non-ASCII as \xNN escapes, JSON-quoted, "..." if cut.
std::string show_str(const std::string& s) {
  std::string out = "\"";
  std::size_t chars = 0, i = 0;
  for (; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if ((c & 0xC0) != 0x80 && ++chars > 40) break;
    char buf[8];
    if (c >= 0x80) {
      std::snprintf(buf, sizeof buf, "\\\\x%02x", c);
      out += buf;
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\r') {
      out += "\\r";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\b') {
      out += "\\b";
    } else if (c == '\f') {
      out += "\\f";
    } else if (c < 0x20) {
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"" + (i < s.size() ? "..." : "");
}

// _show(): a short, always-printable description of a JSON value.
std::string show(const Json& v) {
  switch (v.type()) {
    case Json::value_t::null: return "null";
    case Json::value_t::boolean: return v.get<bool>() ? "true" : "false";
    case Json::value_t::number_integer: return std::to_string(v.get<std::int64_t>());
    case Json::value_t::number_unsigned: return std::to_string(v.get<std::uint64_t>());
    case Json::value_t::number_float: return pyfmt::float_repr(v.get<double>());
    case Json::value_t::string: return show_str(v.get_ref<const std::string&>());
    case Json::value_t::array:
    case Json::value_t::object:
      return std::string(v.is_object() ? "an object" : "an array") + " of " + std::to_string(v.size()) +
             (v.size() == 1 ? " entry" : " entries");
    default: return "a binary value";
  }
}

ContractError invalid(const std::string& msg) {
  return ContractError("invalid model contract: " + msg + "; re-export the model with `edgederain export`");
}

bool is_int(const Json& v) { return v.is_number_integer(); }  // JSON true / 8.0 / "8" are not

const std::string& check_str(const Json& v, const std::string& where, bool non_empty = false) {
  if (!v.is_string()) throw invalid(where + " must be a string, got " + show(v));
  const std::string& s = v.get_ref<const std::string&>();
  if (non_empty && s.empty()) throw invalid(where + " must be a non-empty string");
  if (code_points(s) > kMaxString)
    throw invalid(where + " is " + std::to_string(code_points(s)) + " characters long (at most 4096)");
  return s;
}

std::int64_t check_int(const Json& v, const std::string& where, std::int64_t minimum = 1) {
  if (!is_int(v)) throw invalid(where + " must be an integer, got " + show(v));
  const bool big = v.is_number_unsigned() && v.get<std::uint64_t>() > static_cast<std::uint64_t>(kMaxInt);
  if (big || v.get<std::int64_t>() < minimum || v.get<std::int64_t>() > kMaxInt)
    throw invalid(where + " must be an integer from " + std::to_string(minimum) + " to 2147483647, got " + show(v));
  return v.get<std::int64_t>();
}

void check_sequence(const Json& v, const std::string& where) {
  if (!v.is_array()) throw invalid(where + " must be an array, got " + show(v));
}

void check_json(const Json& v, const std::string& where, int depth) {
  if (v.is_string()) check_str(v, where);
  if (!v.is_structured()) return;
  if (depth > kMaxDepth) throw invalid(where + " is nested deeper than 32 levels");
  if (v.size() > kMaxItems) throw invalid(where + " has " + std::to_string(v.size()) + " entries (at most 4096)");
  if (v.is_object()) {
    for (const auto& [key, item] : v.items()) {
      check_str(Json(key), "a key of " + where);
      check_json(item, where + "." + key, depth + 1);
    }
  } else {
    for (std::size_t i = 0; i < v.size(); ++i) check_json(v[i], where + "[" + std::to_string(i) + "]", depth + 1);
  }
}

void check_object(const Json& v, const std::string& where, bool optional) {
  if (v.is_null() && optional) return;
  if (!v.is_object())
    throw invalid(where + " must be " + (optional ? "an object or null" : "an object") + ", got " + show(v));
  check_json(v, where, 2);
}

void check_schema_version(const Json& v) {
  if (!is_int(v) || v.get<std::int64_t>() != kSchemaVersion)
    throw ContractError("model contract schema_version " + show(v) +
                        " is not supported by this edgederain (supported: 1); upgrade edgederain or "
                        "re-export the model");
}

void check_value_range(const Json& v) {
  check_sequence(v, "value_range");
  if (v.size() != 2 || !v[0].is_number() || !v[1].is_number())
    throw invalid("value_range must be an array of two numbers [0, 1], got " + show(v));
  if (v[0].get<double>() != 0.0 || v[1].get<double>() != 1.0)
    throw invalid("value_range must be [0, 1], got [" + show(v[0]) + ", " + show(v[1]) + "]");
}

void check_input_shape(const Json& v, Contract& c) {
  check_sequence(v, "input_shape");
  if (v.size() != 4) throw invalid("input_shape must be [N, 3, H, W] (4 entries), got " + show(v));
  for (std::size_t i = 0; i < 4; ++i) {
    const Json& dim = v[i];
    const std::string where = "input_shape[" + std::to_string(i) + "]";
    if (dim.is_string()) {
      c.input_shape[i] = Dim{0, check_str(dim, where, true)};
    } else if (!is_int(dim) || (dim.is_number_unsigned() && dim.get<std::uint64_t>() > kMaxInt) ||
               dim.get<std::int64_t>() < 1 || dim.get<std::int64_t>() > kMaxInt) {
      throw invalid("input_shape entries must be positive integers or dimension names, got " + show(dim) + " at " + where);
    } else {
      c.input_shape[i] = Dim{dim.get<std::int64_t>(), ""};
    }
  }
  if (!is_int(v[1]) || v[1].get<std::int64_t>() != 3)
    throw invalid("input_shape must be [N, 3, H, W], got channel entry " + show(v[1]));
}

// The text's bracket depth outside strings (contract.py's _check_nesting), and a copy where the
// non-standard NaN / Infinity / -Infinity tokens outside strings read as standard JSON.
std::string check_nesting(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  int depth = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const char ch = text[i];
    if (ch == '"') {
      std::size_t j = i + 1;
      while (j < text.size() && text[j] != '"') j += text[j] == '\\' ? 2 : 1;
      j = std::min(j, text.size() - 1);
      out.append(text, i, j - i + 1);
      i = j;
      continue;
    }
    if (ch == '[' || ch == '{') {
      if (++depth > kMaxDepth) throw invalid("JSON is nested deeper than 32 levels");
    } else if (ch == ']' || ch == '}') {
      --depth;
    }
    static const std::pair<const char*, const char*> tokens[] = {
        {"-Infinity", "-1.7976931348623157e308"}, {"Infinity", "1.7976931348623157e308"}, {"NaN", "null"}};
    bool replaced = false;
    for (const auto& [token, standard] : tokens) {
      if (text.compare(i, std::char_traits<char>::length(token), token) == 0) {
        out += standard;
        i += std::char_traits<char>::length(token) - 1;
        replaced = true;
        break;
      }
    }
    if (!replaced) out += ch;
  }
  return out;
}

// json.loads with contract.py's _unique_keys hook: a key given twice in one object is an error.
Json parse_unique(const std::string& text) {
  std::vector<std::set<std::string>> open;
  std::optional<std::string> duplicate;
  Json::parser_callback_t track = [&](int, Json::parse_event_t event, Json& parsed) {
    if (event == Json::parse_event_t::object_start) {
      open.emplace_back();
    } else if (event == Json::parse_event_t::object_end) {
      if (!open.empty()) open.pop_back();
    } else if (event == Json::parse_event_t::key && !open.empty() && parsed.is_string()) {
      if (!open.back().insert(parsed.get<std::string>()).second && !duplicate) duplicate = parsed.get<std::string>();
    }
    return true;
  };
  Json data;
  try {
    data = Json::parse(text, track);
  } catch (const Json::parse_error& exc) {
    if (!duplicate) throw ContractError(std::string("model contract is not valid JSON: ") + exc.what());
  }
  if (duplicate) throw invalid("key " + show_str(*duplicate) + " appears more than once in one object");
  return data;
}

// _field_name(): quoted as repr() does, cut after 80 characters.
std::string field_name(const std::string& key) {
  if (code_points(key) <= 80) return pyfmt::str_repr(key);
  std::size_t end = 0, chars = 0;
  while (end < key.size() && (chars < 80 || (static_cast<unsigned char>(key[end]) & 0xC0) == 0x80)) {
    if ((static_cast<unsigned char>(key[end]) & 0xC0) != 0x80) ++chars;
    ++end;
  }
  return pyfmt::str_repr(key.substr(0, end)) + "...";
}

void check_unknown_fields(const Json& data) {
  std::vector<std::string> unknown;
  for (const auto& [key, value] : data.items())
    if (!std::binary_search(known_fields().begin(), known_fields().end(), key)) unknown.push_back(field_name(key));
  if (unknown.empty()) return;
  std::sort(unknown.begin(), unknown.end());
  std::string shown;
  for (std::size_t i = 0; i < std::min<std::size_t>(unknown.size(), 10); ++i) shown += (i ? ", " : "") + unknown[i];
  if (unknown.size() > 10) shown += " and " + std::to_string(unknown.size() - 10) + " more";
  std::string known;
  for (const auto& k : known_fields()) known += (known.empty() ? "" : ", ") + k;
  throw invalid("unknown fields " + shown + " (known: " + known + ")");
}

Json field(const Json& d, const char* name, const Json& fallback) {  // by value: fallback is a temporary
  auto it = d.find(name);
  return it == d.end() ? fallback : *it;
}

// __post_init__ and _validate, in their order (schema_version was checked by from_dict already).
Contract validate(const Json& d) {
  Contract c;
  check_value_range(field(d, "value_range", Json::array({0.0, 1.0})));
  check_input_shape(field(d, "input_shape", Json::array({"batch", 3, "height", "width"})), c);
  const Json producer = field(d, "producer", c.producer);
  if (check_str(producer, "producer") != "edgederain") throw invalid("producer must be 'edgederain', got " + show(producer));
  const Json precision = field(d, "precision", c.precision);
  const std::string& p = check_str(precision, "precision");
  if (p != "fp32" && p != "fp16" && p != "int8")
    throw invalid("precision must be one of ('fp32', 'fp16', 'int8'), got " + show(precision));
  c.precision = p;
  for (auto [name, want] : {std::pair{"layout", "NCHW"}, std::pair{"color", "RGB"}, std::pair{"dtype", "float32"}}) {
    const Json v = field(d, name, want);
    if (check_str(v, name) != want)
      throw invalid(std::string(name) + " must be " + pyfmt::str_repr(want) + ", got " + show(v));
  }
  c.input_name = check_str(field(d, "input_name", c.input_name), "input_name", true);
  c.output_name = check_str(field(d, "output_name", c.output_name), "output_name", true);
  if (c.input_name == c.output_name) throw invalid("input_name and output_name must be distinct non-empty strings");
  c.size_multiple = static_cast<int>(check_int(field(d, "size_multiple", c.size_multiple), "size_multiple"));
  c.min_size = static_cast<int>(check_int(field(d, "min_size", c.min_size), "min_size"));
  c.variant = check_str(field(d, "variant", c.variant), "variant");
  check_object(field(d, "model_config", Json::object()), "model_config", false);
  if (const Json sha = field(d, "checkpoint_sha256", nullptr); !sha.is_null()) {
    const std::string& s = check_str(sha, "checkpoint_sha256");
    if (s.size() != 64 || !std::all_of(s.begin(), s.end(), [](char ch) { return std::isxdigit(static_cast<unsigned char>(ch)) && !std::isupper(static_cast<unsigned char>(ch)); }))
      throw invalid("checkpoint_sha256 must be 64 lowercase hex digits or null");
    c.checkpoint_sha256 = s;
  }
  if (const Json opset = field(d, "opset", nullptr); !opset.is_null()) c.opset = static_cast<int>(check_int(opset, "opset"));
  const Json versions = field(d, "versions", Json::object());
  if (!versions.is_object())
    throw invalid("versions must be an object of package names to version strings, got " + show(versions));
  if (versions.size() > kMaxItems)
    throw invalid("versions has " + std::to_string(versions.size()) + " entries (at most 4096)");
  for (const auto& [package, version] : versions.items()) {
    check_str(Json(package), "a package name in versions");
    check_str(version, "versions." + package);
  }
  if (const Json created = field(d, "created", nullptr); !created.is_null()) check_str(created, "created");
  check_object(field(d, "calibration", nullptr), "calibration", true);
  check_object(field(d, "parity", nullptr), "parity", true);
  return c;
}

}  // namespace

Contract Contract::from_json(const std::string& text) {
  if (code_points(text) > kMaxJsonChars)
    throw ContractError("model contract is " + std::to_string(code_points(text)) + " characters long (at most 1048576)");
  const Json data = parse_unique(check_nesting(text));
  if (!data.is_object()) throw ContractError("model contract must be a JSON object, got " + show(data));
  check_schema_version(field(data, "schema_version", nullptr));
  check_unknown_fields(data);
  Contract c = validate(data);
  c.json = text;
  return c;
}

Contract Contract::from_metadata(const std::optional<std::string>& value, const std::string& source) {
  if (!value) {
    throw ContractError(source + " carries no edgederain contract (metadata key 'edgederain.contract'); "
                        "export it with `edgederain export`, or attach one with "
                        "edgederain.export.attach_contract if you built the graph yourself");
  }
  try {
    return from_json(*value);
  } catch (const ContractError& exc) {
    throw ContractError(source + ": " + exc.what());
  }
}

std::optional<std::int64_t> Contract::fixed_batch() const {
  return input_shape[0].fixed() ? std::optional<std::int64_t>(input_shape[0].size) : std::nullopt;
}

std::optional<std::pair<std::int64_t, std::int64_t>> Contract::fixed_size() const {
  if (input_shape[2].fixed() && input_shape[3].fixed())
    return std::make_pair(input_shape[2].size, input_shape[3].size);
  return std::nullopt;
}

}  // namespace edgederain
