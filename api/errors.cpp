#include "api/errors.h"

namespace minikd::api {

Json ApiError::toStatus() const {
  Json s = {{"kind", "Status"},       {"apiVersion", "v1"},     {"metadata", Json::object()},
            {"status", "Failure"},    {"message", what()},      {"reason", reason_},
            {"code", code_}};
  if (!details_.empty()) s["details"] = details_;
  return s;
}

ApiError notFound(const std::string& resource, const std::string& name) {
  return ApiError(404, "NotFound", resource + " \"" + name + "\" not found",
                  {{"name", name}, {"kind", resource}});
}

ApiError alreadyExists(const std::string& resource, const std::string& name) {
  return ApiError(409, "AlreadyExists", resource + " \"" + name + "\" already exists",
                  {{"name", name}, {"kind", resource}});
}

ApiError conflict(const std::string& resource, const std::string& name, const std::string& why) {
  return ApiError(409, "Conflict",
                  "Operation cannot be fulfilled on " + resource + " \"" + name + "\": " + why,
                  {{"name", name}, {"kind", resource}});
}

ApiError badRequest(const std::string& message) { return ApiError(400, "BadRequest", message); }
ApiError gone(const std::string& message) { return ApiError(410, "Expired", message); }
ApiError methodNotAllowed(const std::string& message) { return ApiError(405, "MethodNotAllowed", message); }
ApiError unsupportedMediaType(const std::string& message) {
  return ApiError(415, "UnsupportedMediaType", message);
}
ApiError tooLarge(const std::string& message) { return ApiError(413, "RequestEntityTooLarge", message); }
ApiError unauthorized() { return ApiError(401, "Unauthorized", "Unauthorized"); }
ApiError forbidden(const std::string& message) { return ApiError(403, "Forbidden", message); }
ApiError internalError(const std::string& message) { return ApiError(500, "InternalError", message); }

ApiError invalid(const std::string& kind, const std::string& name, const std::vector<Cause>& causes) {
  std::string msg = kind + " \"" + name + "\" is invalid: ";
  Json jc = Json::array();
  for (size_t i = 0; i < causes.size(); ++i) {
    if (i) msg += ", ";
    msg += causes[i].field + ": " + causes[i].message;
    jc.push_back({{"reason", causes[i].reason}, {"message", causes[i].message}, {"field", causes[i].field}});
  }
  std::string group;
  return ApiError(422, "Invalid", msg, {{"name", name}, {"kind", kind}, {"causes", jc}});
}

Json successStatus(const Json& details) {
  Json s = {{"kind", "Status"}, {"apiVersion", "v1"}, {"metadata", Json::object()}, {"status", "Success"}};
  if (!details.empty()) s["details"] = details;
  return s;
}

}  // namespace minikd::api
