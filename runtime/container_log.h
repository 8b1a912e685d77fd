#pragma once
// Container logs on disk, in the CRI log format kubelet uses: one line per output line,
// "<RFC3339Nano timestamp> <stdout|stderr> <F|P> <text>\n" (F = a full line, P = a partial one
// without its newline). One file per container instance (<restartCount>.log) under
// <state_dir>/pods/<ns>_<name>_<uid>/<container>/, rotated to <n>.log.1 when it exceeds a size cap.
#include "runtime/clock.h"
#include "runtime/process_launcher.h"

#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace minikd::runtime {

/// <state_dir>/pods/<ns>_<name>_<uid>
std::string podDir(const std::string& state_dir, const std::string& ns, const std::string& name, const std::string& uid);
/// <pod dir>/<container>/<instance>.log
std::string containerLogPath(const std::string& pod_dir, const std::string& container, int instance);

/// Writes one container instance's output. Thread-safe (the launcher's pump thread writes, the pod
/// worker finishes). Write errors (disk full) drop output; they never stop the container.
class ContainerLogWriter {
 public:
  /// Creates the directory and opens `path` for appending. Throws std::runtime_error naming it.
  ContainerLogWriter(std::string path, const Clock& clock, size_t max_bytes);
  ~ContainerLogWriter();
  ContainerLogWriter(const ContainerLogWriter&) = delete;
  ContainerLogWriter& operator=(const ContainerLogWriter&) = delete;

  /// Appends output; complete lines are written at once, the rest is kept until its newline.
  void write(OutputStream stream, std::string_view data);
  /// Writes what is left without a newline as partial lines (the process ended).
  void finish();
  const std::string& path() const { return path_; }

 private:
  void writeLine(OutputStream stream, std::string_view text, bool full);
  void rotateIfNeeded(size_t next);

  std::string path_;
  const Clock& clock_;
  size_t max_bytes_;
  std::mutex mu_;
  std::FILE* file_ = nullptr;
  size_t size_ = 0;
  std::string pending_[2];
};

/// One parsed CRI log line.
struct LogLine {
  TimePoint time;
  std::string timestamp;  // as written (RFC3339Nano)
  OutputStream stream = OutputStream::Stdout;
  bool full = true;
  std::string text;       // without the newline
};

/// Parses CRI log text; malformed lines are skipped. `rest` receives an incomplete last line.
std::vector<LogLine> parseLogLines(std::string_view data, std::string* rest = nullptr);

/// What GET …/log prints for `lines`: optional timestamp prefixes, a newline after full lines.
std::string renderLogLines(const std::vector<LogLine>& lines, bool timestamps);

/// The filters of a log request applied to parsed lines: since (keep lines at or after), then
/// the last `tail` lines (a negative tail keeps everything).
std::vector<LogLine> selectLogLines(std::vector<LogLine> lines, std::optional<TimePoint> since, int64_t tail);

}  // namespace minikd::runtime
