#pragma once
// Pure planning shared by the Endpoints and EndpointSlice controllers: which pods back a Service,
// how its targetPorts resolve per pod, and the desired Endpoints subsets and EndpointSlice contents.
// No I/O: plain JSON in, plain JSON out (tested without an API).
#include "api/selector.h"
#include "api/store.h"

#include <optional>
#include <string>
#include <vector>

namespace minikd {

inline constexpr const char* kServiceNameLabel = "kubernetes.io/service-name";
inline constexpr const char* kSliceManagedByLabel = "endpointslice.kubernetes.io/managed-by";
inline constexpr const char* kSliceControllerName = "endpointslice-controller.k8s.io";
inline constexpr const char* kMirrorControllerName = "endpointslicemirroring-controller.k8s.io";
inline constexpr const char* kSkipMirrorLabel = "endpointslice.kubernetes.io/skip-mirror";
inline constexpr const char* kEndpointsManagedByLabel = "endpoints.kubernetes.io/managed-by";
inline constexpr const char* kEndpointsControllerName = "endpoint-controller";
inline constexpr const char* kHeadlessLabel = "service.kubernetes.io/headless";
inline constexpr size_t kMaxEndpointsPerSlice = 100;

/// True when the pod's Ready condition is "True".
bool isPodReady(const api::Json& pod);
/// True when the pod has a deletionTimestamp.
bool isPodTerminating(const api::Json& pod);
/// Whether the pod can back a Service at all: it has a podIP, has not finished for good (per its
/// restartPolicy), and is not terminating unless `include_terminating`.
bool shouldPodBeInEndpoints(const api::Json& pod, bool include_terminating);
/// The port a Service port reaches on `pod`: a numeric targetPort as is (0/absent → port), a named one
/// from the pod's containers[].ports[] with that name and protocol; nullopt when the pod has no such port.
std::optional<int> resolveTargetPort(const api::Json& service_port, const api::Json& pod);
/// True when spec.selector is a non-empty map (an empty or absent selector leaves Endpoints to the user).
bool serviceHasSelector(const api::Json& svc);
/// The Service's spec.selector as a LabelSelector (matches nothing when it has none).
api::LabelSelector serviceSelector(const api::Json& svc);
/// The fields of a pod that endpoints depend on; two pods with equal fingerprints give equal endpoints.
api::Json podEndpointFingerprint(const api::Json& pod);

/// The Endpoints object for `svc` (name, namespace, labels, subsets) from the pods its selector
/// matches (`pods` may contain others of the namespace: they are filtered here). Subsets group the
/// addresses by identical port sets; addresses and ports are sorted, so equal input gives equal output.
api::Json planEndpoints(const api::Json& svc, const std::vector<api::ObjectPtr>& pods);

/// One EndpointSlice's content.
struct SliceContent {
  api::Json ports = api::Json::array();
  api::Json endpoints = api::Json::array();
};
/// The slices for `svc`: endpoints grouped by their resolved ports, sorted, at most
/// kMaxEndpointsPerSlice per slice; one empty placeholder when there is no endpoint at all.
std::vector<SliceContent> planSlices(const api::Json& svc, const std::vector<api::ObjectPtr>& pods);
/// The slices mirroring a hand-written Endpoints object (IPv4 addresses only).
std::vector<SliceContent> planMirroredSlices(const api::Json& endpoints);

/// A full EndpointSlice object for `content` with `labels` and `owner` (a controller ownerReference),
/// named by generateName "<service>-" (at most 63 characters in all once suffixed).
api::Json buildSlice(const std::string& ns, const std::string& service, const SliceContent& content,
                     const api::Json& labels, const api::Json& owner);
/// An ownerReference (controller: true) to `obj`.
api::Json controllerRef(const api::Json& obj);

}  // namespace minikd
