#pragma once
// Printing API objects like kubectl: aligned tables from server-side Tables, -o json|yaml|name|wide,
// AGE as kubectl's HumanDuration, and coloured STATUS cells on a terminal.
#include "api/resources.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <string>
#include <vector>

namespace minikd {

using Json = nlohmann::json;

/// Rows of cells printed with kubectl's alignment: each column as wide as its widest cell, 3 spaces
/// between columns, no trailing spaces. Colour escape sequences do not count towards the width.
class TextTable {
 public:
  void addRow(std::vector<std::string> cells) { rows_.push_back(std::move(cells)); }
  bool empty() const { return rows_.empty(); }
  /// The rendered lines, each ending in "\n".
  std::string render() const;
  /// Column widths (visible characters) of the rows so far.
  std::vector<size_t> widths() const;
  /// Renders with at least these widths (keeps a `-w` stream aligned with its first table).
  std::string render(const std::vector<size_t>& min_widths) const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

/// How a Table is printed.
struct TableOptions {
  bool wide = false;            // -o wide: show priority>0 columns
  bool with_namespace = false;  // -A: NAMESPACE first
  bool show_labels = false;     // --show-labels: LABELS last
  bool no_headers = false;
  bool color = false;           // colour the STATUS cell (on a terminal)
  std::string name_prefix;      // "pod/" when several kinds are printed together
};

/// Appends the rows of a meta.k8s.io Table to `out` (with the header row first unless no_headers).
/// `columns` are the column definitions to use (a watch event's Table may lack them).
void addTableRows(TextTable& out, const Json& columns, const Json& rows, const TableOptions& opts, bool header);

/// A Table built on the client from full objects, for a server that sends plain lists: NAME and AGE.
Json tableFromObjects(const std::vector<Json>& items);

/// kubectl's HumanDuration (shared/kubectl-table-columns.md §1).
std::string humanDuration(std::chrono::seconds d);
/// The age of an RFC 3339 timestamp at `now`; "<unknown>" when empty or unparsable.
std::string ageOf(const std::string& rfc3339, std::chrono::system_clock::time_point now);
/// Seconds since the epoch of an RFC 3339 timestamp ("2024-05-01T10:00:00Z"), or -1.
int64_t parseRfc3339(const std::string& s);
/// The current time as RFC 3339 ("2024-05-01T10:00:00Z").
std::string nowRfc3339();

/// "pod/web-1", "deployment.apps/web" (kubectl's -o name).
std::string qualifiedName(const api::ResourceInfo& r, const std::string& name);
/// "pod", "deployment.apps": the prefix of qualifiedName.
std::string kindPrefix(const api::ResourceInfo& r);

/// Wraps objects in a v1 List the way kubectl prints several objects with -o json|yaml.
Json asList(const std::vector<Json>& items);

/// The colour a STATUS value gets on a terminal ("" for none): green for Running/Ready/Active/…,
/// yellow for Pending/Terminating/…, red for errors.
std::string statusColor(const std::string& status);

}  // namespace minikd
