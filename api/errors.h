#pragma once
// Kubernetes-shaped errors: every failure the API reports is an ApiError, turned into a `Status` at
// the HTTP boundary (see kubectl-wire-contract.md §1).
#include <nlohmann/json.hpp>

#include <stdexcept>
#include <string>
#include <vector>

namespace minikd::api {

using Json = nlohmann::json;

/// One entry of Status.details.causes: which field was wrong and why.
struct Cause {
  std::string reason;   // e.g. "FieldValueInvalid", "FieldValueRequired"
  std::string message;  // e.g. "Invalid value: \"Web\": a lowercase RFC 1123 subdomain must ..."
  std::string field;    // e.g. "metadata.name"
};

/// An error with an HTTP code and a Kubernetes reason. Thrown by the store, validation and handlers.
class ApiError : public std::runtime_error {
 public:
  ApiError(int code, std::string reason, std::string message, Json details = Json::object())
      : std::runtime_error(message), code_(code), reason_(std::move(reason)), details_(std::move(details)) {}

  int code() const { return code_; }
  const std::string& reason() const { return reason_; }
  const Json& details() const { return details_; }

  /// The `Status` object for this error.
  Json toStatus() const;

 private:
  int code_;
  std::string reason_;
  Json details_;
};

// Constructors for the common errors, with kubectl's wording. `resource` is the plural ("pods").
ApiError notFound(const std::string& resource, const std::string& name);
ApiError alreadyExists(const std::string& resource, const std::string& name);
ApiError conflict(const std::string& resource, const std::string& name, const std::string& why);
ApiError badRequest(const std::string& message);
ApiError gone(const std::string& message);
ApiError methodNotAllowed(const std::string& message);
ApiError unsupportedMediaType(const std::string& message);
ApiError tooLarge(const std::string& message);
ApiError unauthorized();
ApiError forbidden(const std::string& message);
ApiError internalError(const std::string& message);
/// 422 Invalid: "<Kind> \"<name>\" is invalid: <causes>".
ApiError invalid(const std::string& kind, const std::string& name, const std::vector<Cause>& causes);

/// A `Status` with status Success (e.g. the answer to a DELETE of a collection).
Json successStatus(const Json& details = Json::object());

}  // namespace minikd::api
