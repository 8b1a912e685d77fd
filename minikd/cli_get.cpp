// minikd get: tables from server-side Tables, -o json|yaml|name|jsonpath, -w streaming.
#include "minikd/cli_common.h"
#include "minikd/printer.h"
#include "minikd/printer_jsonpath.h"
#include "minikd/yaml.h"

namespace minikd::cli {
namespace {

bool isTableFormat(const std::string& o) { return o.empty() || o == "wide"; }

/// The answer as a Table: server-side when the server made one, else built here (NAME, AGE).
Json asTable(const Json& answer) {
  if (answer.value("kind", "") == "Table") return answer;
  if (answer.contains("items")) return tableFromObjects(answer["items"].get<std::vector<Json>>());
  return tableFromObjects({answer});
}

std::string listPath(Context& ctx, const api::ResourceInfo& r, const std::string& ns) {
  std::string path = collectionPath(r, ns);
  if (ctx.args.has("selector")) path = withQuery(path, "labelSelector", ctx.args.get("selector"));
  if (ctx.args.has("field-selector")) path = withQuery(path, "fieldSelector", ctx.args.get("field-selector"));
  return path;
}

TableOptions tableOptions(Context& ctx, const api::ResourceInfo& r, bool prefix) {
  TableOptions o;
  o.wide = ctx.args.get("output") == "wide";
  o.with_namespace = ctx.allNamespaces() && r.namespaced;
  o.show_labels = ctx.args.flag("show-labels");
  o.no_headers = ctx.args.flag("no-headers");
  o.color = ctx.tty();
  if (prefix) o.name_prefix = kindPrefix(r) + "/";
  return o;
}

void noResources(Context& ctx, const std::vector<Target>& targets) {
  bool namespaced = std::any_of(targets.begin(), targets.end(), [](const Target& t) { return t.r->namespaced; });
  if (ctx.allNamespaces() || !namespaced) ctx.err << "No resources found\n";
  else ctx.err << "No resources found in " << ctx.ns() << " namespace.\n";
}

/// Prints tables; returns the exit code. `state` receives the last table's columns and widths for -w.
struct TableState {
  Json columns = Json::array();
  std::vector<size_t> widths;
  std::string resource_version;
};

int printTables(Context& ctx, const std::vector<Target>& targets, bool prefix, TableState& state) {
  int rc = 0;
  bool printed_any = false;
  std::string ns = ctx.allNamespaces() ? "" : ctx.ns();
  for (const auto& t : targets) {
    TextTable table;
    TableOptions opts = tableOptions(ctx, *t.r, prefix);
    Json columns;
    if (t.names.empty()) {
      Json answer = ctx.api().get(listPath(ctx, *t.r, ns), kTableAccept);
      state.resource_version = answer.value("metadata", Json::object()).value("resourceVersion", "");
      Json tab = asTable(answer);
      columns = tab["columnDefinitions"];
      if (tab["rows"].empty()) continue;
      addTableRows(table, columns, tab["rows"], opts, true);
    } else {
      bool header = true;
      for (const auto& name : t.names) {
        try {
          Json tab = asTable(ctx.api().get(objectPath(*t.r, ns, name), kTableAccept));
          columns = tab["columnDefinitions"];
          addTableRows(table, columns, tab["rows"], opts, header);
          header = false;
        } catch (const ServerError& e) {
          if (e.code() == 404 && ctx.args.flag("ignore-not-found")) continue;
          ctx.out << table.render() << std::flush;
          table = TextTable();
          header = true;
          ctx.err << e.what() << "\n";
          rc = 1;
        }
      }
      if (table.empty()) continue;
    }
    if (printed_any) ctx.out << "\n";
    ctx.out << table.render() << std::flush;
    state.columns = columns;
    state.widths = table.widths();
    printed_any = true;
  }
  if (!printed_any && rc == 0 && !ctx.args.flag("ignore-not-found")) noResources(ctx, targets);
  return rc;
}

int printFormatted(Context& ctx, const std::vector<Target>& targets, const std::string& format, std::string& rv) {
  std::vector<std::pair<const api::ResourceInfo*, Json>> objs;
  std::string ns = ctx.allNamespaces() ? "" : ctx.ns();
  int rc = 0;
  bool single = targets.size() == 1 && targets[0].names.size() == 1;
  for (const auto& t : targets) {
    if (t.names.empty()) {
      Json list = ctx.api().get(listPath(ctx, *t.r, ns));
      rv = list.value("metadata", Json::object()).value("resourceVersion", "");
      for (auto& item : list.value("items", Json::array())) {
        if (!item.contains("kind")) item["kind"] = t.r->kind;
        if (!item.contains("apiVersion")) item["apiVersion"] = t.r->apiVersion();
        objs.push_back({t.r, std::move(item)});
      }
      continue;
    }
    for (const auto& name : t.names) {
      try {
        objs.push_back({t.r, ctx.api().get(objectPath(*t.r, ns, name))});
      } catch (const ServerError& e) {
        if (e.code() == 404 && ctx.args.flag("ignore-not-found")) continue;
        ctx.err << e.what() << "\n";
        rc = 1;
      }
    }
  }
  if (objs.empty()) {
    if (rc == 0 && format == "name" && !ctx.args.flag("ignore-not-found")) noResources(ctx, targets);
    if (rc != 0 || format == "name") return rc;
  }
  if (single && objs.size() == 1) {
    printObjects(ctx, format, objs);
  } else if (format == "name") {
    printObjects(ctx, format, objs);
  } else {
    // Several objects (or a list): always a List, as kubectl does.
    std::vector<Json> items;
    for (auto& p : objs) items.push_back(p.second);
    printObjects(ctx, format, {{targets[0].r, asList(items)}});
  }
  return rc;
}

/// Streams watch events of one type after the initial list.
int watch(Context& ctx, const Target& t, const std::string& format, TableState& state) {
  std::string ns = ctx.allNamespaces() ? "" : ctx.ns();
  std::string path = withQuery(listPath(ctx, *t.r, ns), "watch", "true");
  if (!state.resource_version.empty()) path = withQuery(path, "resourceVersion", state.resource_version);
  if (t.names.size() == 1) path = withQuery(path, "fieldSelector", "metadata.name=" + t.names[0]);
  bool table = isTableFormat(format);
  TableOptions opts = tableOptions(ctx, *t.r, false);
  bool header = state.columns.empty();
  JsonStreamSplitter splitter;
  int rc = 0;
  ctx.api().stream(path, table ? kTableAccept : "application/json", [&](std::string_view data) {
    splitter.feed(data, [&](Json ev) {
      std::string type = ev.value("type", "");
      if (type == "BOOKMARK") return;
      Json obj = ev.value("object", Json::object());
      if (type == "ERROR") {
        ctx.err << "error: " << obj.value("message", "watch failed") << "\n";
        rc = 1;
        return;
      }
      if (!table) {
        if (!obj.contains("kind")) obj["kind"] = t.r->kind;
        if (!obj.contains("apiVersion")) obj["apiVersion"] = t.r->apiVersion();
        if (format == "yaml") ctx.out << "---\n";
        printObjects(ctx, format, {{t.r, obj}});
        ctx.out << std::flush;
        return;
      }
      Json tab = asTable(obj);
      const Json& defs = tab["columnDefinitions"];
      // Only the first event of a server-side Table watch carries the column definitions.
      if (obj.value("kind", "") != "Table") state.columns = defs;
      else if (state.columns.empty() && defs.is_array() && !defs.empty()) state.columns = defs;
      TextTable rows;
      addTableRows(rows, state.columns, tab.value("rows", Json::array()), opts, header);
      header = false;
      auto widths = rows.widths();
      for (size_t i = 0; i < widths.size() && i < state.widths.size(); ++i) state.widths[i] = std::max(state.widths[i], widths[i]);
      if (state.widths.empty()) state.widths = widths;
      ctx.out << rows.render(state.widths) << std::flush;
    });
    return rc == 0;
  });
  return rc;
}

}  // namespace

int cmdGet(Context& ctx) {
  auto targets = parseTargets(ctx.args.positional);
  if (targets.empty())
    return fail(ctx, "You must specify the type of resource to get. Use \"minikd api-resources\" for a complete list of supported resources.");
  std::string format = ctx.args.get("output");
  bool watching = ctx.args.flag("watch") || ctx.args.flag("watch-only");
  if (watching && targets.size() != 1) return fail(ctx, "you may only specify a single resource type");
  bool prefix = targets.size() > 1 || (ctx.args.positional[0] == "all");
  TableState state;
  int rc = 0;
  if (!ctx.args.flag("watch-only")) {
    if (isTableFormat(format)) {
      rc = printTables(ctx, targets, prefix, state);
    } else {
      rc = printFormatted(ctx, targets, format, state.resource_version);
    }
  }
  if (!watching || rc != 0) return rc;
  if (ctx.args.flag("watch-only") || !targets[0].names.empty()) {
    // The watch needs a starting point: the list's resourceVersion.
    if (state.resource_version.empty()) {
      std::string ns = ctx.allNamespaces() ? "" : ctx.ns();
      Json list = ctx.api().get(listPath(ctx, *targets[0].r, ns));
      state.resource_version = list.value("metadata", Json::object()).value("resourceVersion", "");
    }
  }
  return watch(ctx, targets[0], format, state);
}

}  // namespace minikd::cli
