#include "minikd/default_services.h"

#include "api/validation.h"
#include "minikd/service_allocator.h"

namespace minikd {

using api::Json;

namespace {

const api::ResourceInfo& resource(const char* key) {
  const api::ResourceInfo* r = api::findResourceByKey(key);
  if (!r) throw std::logic_error(std::string("resource ") + key + " is not built in");
  return *r;
}

void ensureNamespace(api::Api& api, const std::string& name) {
  if (api.store().getPtr("namespaces", "", name)) return;
  try {
    api.create(resource("namespaces"), "", {{"apiVersion", "v1"}, {"kind", "Namespace"}, {"metadata", {{"name", name}}}});
  } catch (const api::ApiError& e) {
    if (e.code() != 409) throw;
  }
}

void ensureService(api::Api& api, const Json& svc) {
  std::string ns = svc["metadata"]["namespace"], name = svc["metadata"]["name"];
  if (api.store().getPtr("services", ns, name)) return;
  try {
    api.create(resource("services"), ns, svc);
  } catch (const api::ApiError& e) {
    if (e.code() != 409) throw;
  }
}

/// Creates the Endpoints, or rewrites their subsets when they differ from `ep`'s.
void ensureEndpoints(api::Api& api, Json ep) {
  const auto& r = resource("endpoints");
  api::applyDefaults(r, ep);
  std::string ns = ep["metadata"]["namespace"], name = ep["metadata"]["name"];
  if (!api.store().getPtr(r.key(), ns, name)) {
    try {
      api.create(r, ns, ep);
      return;
    } catch (const api::ApiError& e) {
      if (e.code() != 409) throw;
    }
  }
  api.modify(r, ns, name, [&](Json& obj) {
    if (obj.value("subsets", Json()) == ep["subsets"]) return false;
    obj["subsets"] = ep["subsets"];
    return true;
  });
}

std::string serviceIp(const DefaultServicesOptions& o, uint64_t offset) {
  return formatIpv4(Ipv4Cidr::parse(o.service_cidr).nth(offset));
}

}  // namespace

Json kubernetesService(const DefaultServicesOptions& o) {
  std::string ip = serviceIp(o, 1);
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", "kubernetes"},
            {"namespace", "default"},
            {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"clusterIP", ip},
            {"clusterIPs", Json::array({ip})},
            {"sessionAffinity", "None"},
            {"ports", {{{"name", "https"}, {"port", 443}, {"protocol", "TCP"}, {"targetPort", o.api_port}}}}}}};
}

Json kubernetesEndpoints(const DefaultServicesOptions& o) {
  return {{"apiVersion", "v1"},
          {"kind", "Endpoints"},
          {"metadata",
           {{"name", "kubernetes"},
            {"namespace", "default"},
            {"labels", {{"component", "apiserver"}, {"provider", "kubernetes"}}}}},
          {"subsets",
           {{{"addresses", {{{"ip", o.api_ip}}}},
             {"ports", {{{"name", "https"}, {"port", o.api_port}, {"protocol", "TCP"}}}}}}}};
}

Json kubeDnsService(const DefaultServicesOptions& o) {
  std::string ip = serviceIp(o, 10);
  return {{"apiVersion", "v1"},
          {"kind", "Service"},
          {"metadata",
           {{"name", "kube-dns"},
            {"namespace", "kube-system"},
            {"labels",
             {{"k8s-app", "kube-dns"}, {"kubernetes.io/cluster-service", "true"}, {"kubernetes.io/name", "CoreDNS"}}}}},
          {"spec",
           {{"type", "ClusterIP"},
            {"clusterIP", ip},
            {"clusterIPs", Json::array({ip})},
            {"ports",
             {{{"name", "dns"}, {"port", 53}, {"protocol", "UDP"}, {"targetPort", o.dns_port}},
              {{"name", "dns-tcp"}, {"port", 53}, {"protocol", "TCP"}, {"targetPort", o.dns_port}}}}}}};
}

Json kubeDnsEndpoints(const DefaultServicesOptions& o) {
  return {{"apiVersion", "v1"},
          {"kind", "Endpoints"},
          {"metadata", {{"name", "kube-dns"}, {"namespace", "kube-system"}, {"labels", {{"k8s-app", "kube-dns"}}}}},
          {"subsets",
           {{{"addresses", {{{"ip", o.dns_ip}}}},
             {"ports",
              {{{"name", "dns"}, {"port", o.dns_port}, {"protocol", "UDP"}},
               {{"name", "dns-tcp"}, {"port", o.dns_port}, {"protocol", "TCP"}}}}}}}};
}

void ensureDefaultServices(api::Api& api, const DefaultServicesOptions& o) {
  ensureNamespace(api, "default");
  ensureNamespace(api, "kube-system");
  ensureService(api, kubernetesService(o));
  ensureEndpoints(api, kubernetesEndpoints(o));
  ensureService(api, kubeDnsService(o));
  ensureEndpoints(api, kubeDnsEndpoints(o));
}

}  // namespace minikd
