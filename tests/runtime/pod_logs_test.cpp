#include "runtime/container_log.h"
#include "runtime/env.h"
#include "runtime/pod_logs.h"
#include "runtime_fixture.h"

#include <filesystem>
#include <fstream>

// Designated initializers of LogOptions leave the other fields at their defaults on purpose.
#pragma GCC diagnostic ignored "-Wmissing-field-initializers"
#include <thread>

using namespace minikd::runtime;
using namespace minikd::runtime::testing;

TEST_CASE("container log writer: CRI lines, partial lines, rotation", "[runtime]") {
  TempDir dir;
  FakeClock clock;
  std::string path = dir.path + "/c/0.log";
  {
    ContainerLogWriter w(path, clock, 200);
    w.write(OutputStream::Stdout, "hello\nwor");
    w.write(OutputStream::Stderr, "oops\n");
    w.write(OutputStream::Stdout, "ld\nno newline");
    w.finish();
  }
  std::ifstream f(path);
  std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto lines = parseLogLines(all);
  REQUIRE(lines.size() == 4);
  CHECK(lines[0].text == "hello");
  CHECK(lines[0].timestamp == "2027-01-15T08:00:00.000000000Z");
  CHECK(lines[1].stream == OutputStream::Stderr);
  CHECK(lines[2].text == "world");
  CHECK(lines[3].full == false);
  CHECK(renderLogLines(lines, false) == "hello\noops\nworld\nno newline");
  CHECK(renderLogLines(selectLogLines(lines, std::nullopt, 2), false) == "world\nno newline");
  CHECK(renderLogLines(selectLogLines(lines, std::nullopt, 0), false) == "");

  // Past 200 bytes the file is rotated to .1 (one rotated file kept).
  ContainerLogWriter w(path, clock, 200);
  for (int i = 0; i < 20; ++i) w.write(OutputStream::Stdout, "line " + std::to_string(i) + "\n");
  CHECK(std::filesystem::exists(path + ".1"));
  CHECK(std::filesystem::file_size(path) <= 200);
}

TEST_CASE("expandVars and base64", "[runtime]") {
  std::map<std::string, std::string> env = {{"A", "1"}};
  CHECK(expandVars("$(A)-$(B)-$$(A)-$", env) == "1-$(B)-$(A)-$");
  CHECK(base64Decode("aGVsbG8gd29ybGQ=") == "hello world");
}

TEST_CASE("pod logs: container, tail, timestamps, since, limitBytes, previous, follow", "[runtime]") {
  RuntimeFixture fx;
  RuntimePodLogs logs(fx.api, fx.clock, fx.dir.path, std::chrono::milliseconds(5));
  fx.create(RuntimeFixture::podManifest("lg", {{"app", {"/bin/app"}}, {"side", {"/bin/side"}}}));
  fx.sync();
  auto read = [&](minikd::api::LogOptions o) {
    std::string out;
    logs.stream("default", "lg", o, [&](std::string_view d) {
      out.append(d);
      return true;
    });
    return out;
  };
  auto app = fx.launcher.latest("/bin/app");
  app->write("one\ntwo\n");
  fx.clock.advance(std::chrono::seconds(100));
  app->write("three\n", OutputStream::Stderr);

  CHECK_THROWS_WITH(read({}), Catch::Contains("a container name must be specified for pod lg, choose one of: [app side]"));
  CHECK_THROWS_WITH(read({.container = "nope"}), Catch::Contains("container nope is not valid for pod lg"));
  CHECK(read({.container = "app"}) == "one\ntwo\nthree\n");
  CHECK(read({.container = "app", .tail_lines = 1}) == "three\n");
  CHECK(read({.container = "app", .since_seconds = 50}) == "three\n");
  CHECK(read({.container = "app", .limit_bytes = 6}) == "one\ntw");
  std::string ts = read({.container = "app", .timestamps = true});
  CHECK(ts.rfind("2027-01-15T08:00:00.000000000Z one\n", 0) == 0);
  CHECK_THROWS_WITH(read({.container = "app", .previous = true}), Catch::Contains("previous terminated container \"app\""));

  // A restart: the previous instance stays readable.
  app->exit(1);
  fx.sync();
  fx.advance(std::chrono::seconds(10));
  fx.launcher.latest("/bin/app")->write("second life\n");
  CHECK(read({.container = "app", .previous = true}) == "one\ntwo\nthree\n");
  CHECK(read({.container = "app"}) == "second life\n");

  // Follow ends when the instance ends.
  std::string followed;
  std::thread t([&] {
    logs.stream("default", "lg", {.container = "app", .follow = true}, [&](std::string_view d) {
      followed.append(d);
      return true;
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  fx.launcher.latest("/bin/app")->write("more\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  fx.launcher.latest("/bin/app")->exit(0);
  fx.sync();
  t.join();
  CHECK(followed == "second life\nmore\n");

  // Follow also stops when the sink says so.
  fx.advance(std::chrono::seconds(20));
  fx.launcher.latest("/bin/app")->write("x\n");
  int calls = 0;
  logs.stream("default", "lg", {.container = "app", .follow = true}, [&](std::string_view) { return ++calls < 1; });
  CHECK(calls == 1);
}
