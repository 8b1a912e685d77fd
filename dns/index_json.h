#pragma once
// Conversion of API objects (Service, EndpointSlice, Pod as JSON) into the DNS index's records.
// Pure functions, tested without an API server.
#include "dns/index.h"

#include <nlohmann/json.hpp>

#include <optional>
#include <string>

namespace minikd::dns {

/// The DNS view of a Service (ClusterIP, headless when clusterIP is "None", ExternalName).
ServiceRecord serviceFromJson(const nlohmann::json& svc);
/// The service an EndpointSlice belongs to (label kubernetes.io/service-name); nullopt without one.
std::optional<std::string> sliceServiceName(const nlohmann::json& slice);
/// The ports and addresses of an EndpointSlice. `conditions.ready` missing counts as ready.
EndpointSetRecord endpointSetFromJson(const nlohmann::json& slice);
/// The pod's addresses (status.podIPs, else status.podIP); none for host-network or finished pods.
PodRecord podFromJson(const nlohmann::json& pod);

}  // namespace minikd::dns
