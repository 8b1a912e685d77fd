#include "runtime/container_log.h"

#include <cstring>
#include <filesystem>
#include <stdexcept>
#include <system_error>

namespace minikd::runtime {

namespace fs = std::filesystem;

namespace {
// Longer lines are split into partial records, as CRI runtimes do.
constexpr size_t kMaxLine = 16 * 1024;
const char* streamName(OutputStream s) { return s == OutputStream::Stdout ? "stdout" : "stderr"; }
}  // namespace

std::string podDir(const std::string& state_dir, const std::string& ns, const std::string& name, const std::string& uid) {
  return state_dir + "/pods/" + ns + "_" + name + "_" + uid;
}

std::string containerLogPath(const std::string& pod_dir, const std::string& container, int instance) {
  return pod_dir + "/" + container + "/" + std::to_string(instance) + ".log";
}

ContainerLogWriter::ContainerLogWriter(std::string path, const Clock& clock, size_t max_bytes)
    : path_(std::move(path)), clock_(clock), max_bytes_(max_bytes) {
  std::error_code ec;
  fs::create_directories(fs::path(path_).parent_path(), ec);
  file_ = std::fopen(path_.c_str(), "ae");
  if (!file_) throw std::runtime_error("open container log \"" + path_ + "\": " + std::strerror(errno));
  size_ = static_cast<size_t>(std::ftell(file_));
}

ContainerLogWriter::~ContainerLogWriter() {
  if (file_) std::fclose(file_);
}

void ContainerLogWriter::write(OutputStream stream, std::string_view data) {
  std::lock_guard lock(mu_);
  std::string& pending = pending_[static_cast<int>(stream)];
  pending.append(data);
  size_t start = 0;
  for (;;) {
    size_t nl = pending.find('\n', start);
    if (nl == std::string::npos) break;
    writeLine(stream, std::string_view(pending).substr(start, nl - start), true);
    start = nl + 1;
  }
  pending.erase(0, start);
  while (pending.size() >= kMaxLine) {
    writeLine(stream, std::string_view(pending).substr(0, kMaxLine), false);
    pending.erase(0, kMaxLine);
  }
  if (file_) std::fflush(file_);
}

void ContainerLogWriter::finish() {
  std::lock_guard lock(mu_);
  for (int s = 0; s < 2; ++s) {
    if (pending_[s].empty()) continue;
    writeLine(static_cast<OutputStream>(s), pending_[s], false);
    pending_[s].clear();
  }
  if (file_) std::fflush(file_);
}

void ContainerLogWriter::writeLine(OutputStream stream, std::string_view text, bool full) {
  std::string record = formatRfc3339Nano(clock_.now());
  record += ' ';
  record += streamName(stream);
  record += full ? " F " : " P ";
  record += text;
  record += '\n';
  rotateIfNeeded(record.size());
  if (!file_) return;
  if (std::fwrite(record.data(), 1, record.size(), file_) == record.size()) size_ += record.size();
}

void ContainerLogWriter::rotateIfNeeded(size_t next) {
  if (size_ == 0 || size_ + next <= max_bytes_ || !file_) return;
  std::fclose(file_);
  std::error_code ec;
  fs::rename(path_, path_ + ".1", ec);  // replaces the older rotated file: at most 2 × cap per instance
  file_ = std::fopen(path_.c_str(), "we");
  size_ = 0;
}

std::vector<LogLine> parseLogLines(std::string_view data, std::string* rest) {
  std::vector<LogLine> lines;
  size_t start = 0;
  while (start < data.size()) {
    size_t nl = data.find('\n', start);
    if (nl == std::string_view::npos) {
      if (rest) *rest = std::string(data.substr(start));
      break;
    }
    std::string_view rec = data.substr(start, nl - start);
    start = nl + 1;
    size_t s1 = rec.find(' ');
    if (s1 == std::string_view::npos) continue;
    size_t s2 = rec.find(' ', s1 + 1);
    if (s2 == std::string_view::npos || s2 + 2 > rec.size()) continue;
    LogLine line;
    line.timestamp = std::string(rec.substr(0, s1));
    auto t = parseRfc3339(line.timestamp);
    if (!t) continue;
    line.time = *t;
    line.stream = rec.substr(s1 + 1, s2 - s1 - 1) == "stderr" ? OutputStream::Stderr : OutputStream::Stdout;
    line.full = rec[s2 + 1] == 'F';
    line.text = s2 + 3 <= rec.size() ? std::string(rec.substr(s2 + 3)) : std::string();
    lines.push_back(std::move(line));
  }
  return lines;
}

std::string renderLogLines(const std::vector<LogLine>& lines, bool timestamps) {
  std::string out;
  bool at_line_start = true;
  for (const auto& l : lines) {
    if (timestamps && at_line_start) out += l.timestamp + " ";
    out += l.text;
    if (l.full) out += '\n';
    at_line_start = l.full;
  }
  return out;
}

std::vector<LogLine> selectLogLines(std::vector<LogLine> lines, std::optional<TimePoint> since, int64_t tail) {
  if (since) std::erase_if(lines, [&](const LogLine& l) { return l.time < *since; });
  if (tail < 0) return lines;
  // A logical line is a run of partial records ended by a full one (or by the end).
  std::vector<size_t> starts;
  size_t group_start = 0;
  for (size_t i = 0; i < lines.size(); ++i) {
    if (!lines[i].full && i + 1 != lines.size()) continue;
    starts.push_back(group_start);
    group_start = i + 1;
  }
  if (tail >= static_cast<int64_t>(starts.size())) return lines;
  size_t keep_from = tail == 0 ? lines.size() : starts[starts.size() - static_cast<size_t>(tail)];
  return std::vector<LogLine>(lines.begin() + static_cast<long>(keep_from), lines.end());
}

}  // namespace minikd::runtime
