#include "minikd/printer.h"

#include "api/text.h"

#include <algorithm>
#include <cctype>
#include <ctime>

namespace minikd {
namespace {

/// Visible characters of a cell: UTF-8 code points, not counting ANSI escape sequences.
size_t visibleWidth(const std::string& s) {
  size_t n = 0;
  for (size_t i = 0; i < s.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(s[i]);
    if (c == 0x1b) {
      while (i < s.size() && s[i] != 'm') ++i;
      continue;
    }
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

std::string upper(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

std::string cellText(const Json& v) {
  if (v.is_string()) return v.get<std::string>();
  if (v.is_null()) return "<none>";
  if (v.is_boolean()) return v.get<bool>() ? "true" : "false";
  return v.dump();
}

std::string labelsText(const Json& labels) {
  if (!labels.is_object() || labels.empty()) return "<none>";
  std::string out;
  for (auto it = labels.begin(); it != labels.end(); ++it) {
    if (!out.empty()) out += ",";
    out += it.key() + "=" + (it.value().is_string() ? it.value().get<std::string>() : it.value().dump());
  }
  return out;
}

}  // namespace

std::vector<size_t> TextTable::widths() const {
  std::vector<size_t> w;
  for (const auto& row : rows_) {
    if (row.size() > w.size()) w.resize(row.size(), 0);
    for (size_t i = 0; i < row.size(); ++i) w[i] = std::max(w[i], visibleWidth(row[i]));
  }
  return w;
}

std::string TextTable::render() const { return render({}); }

std::string TextTable::render(const std::vector<size_t>& min_widths) const {
  std::vector<size_t> w = widths();
  for (size_t i = 0; i < w.size() && i < min_widths.size(); ++i) w[i] = std::max(w[i], min_widths[i]);
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(w[i] - visibleWidth(row[i]) + 3, ' ');
    }
    while (!line.empty() && line.back() == ' ') line.pop_back();
    out += line + "\n";
  }
  return out;
}

void addTableRows(TextTable& out, const Json& columns, const Json& rows, const TableOptions& opts, bool header) {
  std::vector<size_t> shown;
  size_t name_col = SIZE_MAX, status_col = SIZE_MAX;
  for (size_t i = 0; i < columns.size(); ++i) {
    const Json& c = columns[i];
    if (c.value("priority", 0) > 0 && !opts.wide) continue;
    shown.push_back(i);
    if (name_col == SIZE_MAX && (c.value("format", "") == "name" || c.value("name", "") == "Name")) name_col = i;
    if (c.value("name", "") == "Status") status_col = i;
  }
  if (header && !opts.no_headers) {
    std::vector<std::string> h;
    if (opts.with_namespace) h.push_back("NAMESPACE");
    for (size_t i : shown) h.push_back(upper(columns[i].value("name", "")));
    if (opts.show_labels) h.push_back("LABELS");
    out.addRow(std::move(h));
  }
  if (!rows.is_array()) return;
  for (const Json& row : rows) {
    const Json cells = row.value("cells", Json::array());
    const Json meta = row.contains("object") ? row["object"].value("metadata", Json::object()) : Json::object();
    std::vector<std::string> line;
    if (opts.with_namespace) line.push_back(meta.value("namespace", ""));
    for (size_t i : shown) {
      std::string text = i < cells.size() ? cellText(cells[i]) : "";
      if (i == name_col) text = opts.name_prefix + text;
      if (i == status_col && opts.color) {
        std::string color = statusColor(text);
        if (!color.empty()) text = color + text + "\033[0m";
      }
      line.push_back(std::move(text));
    }
    if (opts.show_labels) line.push_back(labelsText(meta.value("labels", Json::object())));
    out.addRow(std::move(line));
  }
}

Json tableFromObjects(const std::vector<Json>& items) {
  Json table = {{"kind", "Table"}, {"apiVersion", "meta.k8s.io/v1"},
                {"columnDefinitions", Json::array({{{"name", "Name"}, {"type", "string"}, {"format", "name"}, {"priority", 0}},
                                                   {{"name", "Age"}, {"type", "string"}, {"format", ""}, {"priority", 0}}})},
                {"rows", Json::array()}};
  auto now = std::chrono::system_clock::now();
  for (const Json& obj : items) {
    const Json meta = obj.value("metadata", Json::object());
    Json partial = {{"kind", "PartialObjectMetadata"}, {"apiVersion", "meta.k8s.io/v1"}, {"metadata", meta}};
    table["rows"].push_back({{"cells", {meta.value("name", ""), ageOf(meta.value("creationTimestamp", ""), now)}},
                             {"object", partial}});
  }
  return table;
}

std::string humanDuration(std::chrono::seconds d) {
  int64_t s = d.count();
  if (s < -1) return "<invalid>";
  if (s < 0) return "0s";
  if (s < 120) return std::to_string(s) + "s";
  int64_t m = s / 60;
  if (m < 10) return s % 60 == 0 ? std::to_string(m) + "m" : std::to_string(m) + "m" + std::to_string(s % 60) + "s";
  if (m < 180) return std::to_string(m) + "m";
  int64_t h = s / 3600;
  if (h < 8) return m % 60 == 0 ? std::to_string(h) + "h" : std::to_string(h) + "h" + std::to_string(m % 60) + "m";
  if (h < 48) return std::to_string(h) + "h";
  int64_t days = h / 24;
  if (h < 192) return h % 24 == 0 ? std::to_string(days) + "d" : std::to_string(days) + "d" + std::to_string(h % 24) + "h";
  if (days < 730) return std::to_string(days) + "d";
  int64_t y = days / 365;
  if (y < 8) return days % 365 == 0 ? std::to_string(y) + "y" : std::to_string(y) + "y" + std::to_string(days % 365) + "d";
  return std::to_string(y) + "y";
}

int64_t parseRfc3339(const std::string& s) {
  auto t = api::parseRfc3339(s);
  if (!t) return -1;
  return std::chrono::floor<std::chrono::seconds>(t->time_since_epoch()).count();
}

std::string ageOf(const std::string& rfc3339, std::chrono::system_clock::time_point now) {
  int64_t t = parseRfc3339(rfc3339);
  if (t < 0) return "<unknown>";
  int64_t n = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  return humanDuration(std::chrono::seconds(n - t));
}

std::string nowRfc3339() {
  std::time_t t = std::time(nullptr);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

std::string kindPrefix(const api::ResourceInfo& r) {
  std::string kind = r.kind;
  for (auto& c : kind) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return r.group.empty() ? kind : kind + "." + r.group;
}

std::string qualifiedName(const api::ResourceInfo& r, const std::string& name) { return kindPrefix(r) + "/" + name; }

Json asList(const std::vector<Json>& items) {
  return {{"apiVersion", "v1"}, {"items", items}, {"kind", "List"}, {"metadata", {{"resourceVersion", ""}}}};
}

std::string statusColor(const std::string& status) {
  static const char* kGreen = "\033[32m";
  static const char* kYellow = "\033[33m";
  static const char* kRed = "\033[31m";
  static const std::vector<std::string> green = {"Running", "Ready", "Active", "Completed", "Succeeded", "Bound", "True"};
  static const std::vector<std::string> yellow = {"Pending", "ContainerCreating", "PodInitializing", "Terminating",
                                                  "NotReady", "Unknown", "SchedulingGated"};
  auto in = [&](const std::vector<std::string>& v) { return std::find(v.begin(), v.end(), status) != v.end(); };
  if (in(green)) return kGreen;
  if (status.find("Error") != std::string::npos || status.find("BackOff") != std::string::npos ||
      status == "Failed" || status == "Evicted" || status == "OOMKilled")
    return kRed;
  if (in(yellow) || status.rfind("Init:", 0) == 0) return kYellow;
  return "";
}

}  // namespace minikd
