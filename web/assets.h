#pragma once
// The dashboard's files, embedded at build time by web/embed.cmake.
#include <map>
#include <string>
#include <string_view>

namespace minikd::web {
/// Path ("/index.html") → contents.
const std::map<std::string, std::string_view>& embeddedAssets();
}  // namespace minikd::web
