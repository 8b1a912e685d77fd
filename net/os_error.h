#pragma once
// OsError: a failed system call or netlink request, carrying errno and the names of the objects
// involved, e.g. `create veth "mk3f2a" in netns "minikd-web-1": File exists`.
#include <cerrno>
#include <string>
#include <system_error>

namespace minikd::net {

/// A failure of the OS. what() is "<what>: <strerror(err)>"; code() is the errno value in
/// std::generic_category(), so callers can test `e.code() == std::errc::file_exists`.
class OsError : public std::system_error {
 public:
  OsError(int err, const std::string& what) : std::system_error(err, std::generic_category(), what) {}
  int err() const { return code().value(); }
};

/// Throws OsError(errno, what). For use right after a failed libc call.
[[noreturn]] inline void throwErrno(const std::string& what) { throw OsError(errno, what); }

}  // namespace minikd::net
