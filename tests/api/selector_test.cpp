// Label and field selectors: every form of the string grammar, the structured form, and the errors.
#include "api/selector.h"

#include "api/errors.h"

#include <catch2/catch.hpp>

using minikd::api::ApiError;
using minikd::api::FieldSelector;
using minikd::api::Json;
using minikd::api::LabelSelector;
using minikd::api::Requirement;

namespace {

const Json kWeb = {{"app", "web"}, {"tier", "front"}, {"env", "prod"}};

bool sel(const char* text, const Json& labels = kWeb) { return LabelSelector::parse(text).matches(labels); }

/// The message of the ApiError that parsing `text` throws (fails the test when none is thrown).
std::string parseError(const char* text) {
  try {
    LabelSelector::parse(text);
  } catch (const ApiError& e) {
    CHECK(e.code() == 400);
    return e.what();
  }
  FAIL("no error for selector \"" << text << "\"");
  return "";
}

}  // namespace

TEST_CASE("label selector: empty selects everything", "[api][selector]") {
  auto s = LabelSelector::parse("");
  CHECK(s.empty());
  CHECK(s.matches(kWeb));
  CHECK(s.matches(Json()));
  CHECK(LabelSelector::parse("   ").empty());
  CHECK(LabelSelector().matches(Json::object()));
}

TEST_CASE("label selector: equality forms", "[api][selector]") {
  CHECK(sel("app=web"));
  CHECK(sel("app==web"));
  CHECK(sel(" app = web "));
  CHECK_FALSE(sel("app=api"));
  CHECK_FALSE(sel("missing=web"));
  CHECK(sel("app!=api"));
  CHECK_FALSE(sel("app!=web"));
  CHECK(sel("missing!=x"));  // != matches objects without the label
  CHECK(sel("app=web,tier=front"));
  CHECK_FALSE(sel("app=web,tier=back"));
  CHECK(sel("app=", Json{{"app", ""}}));  // an empty value is a value
  CHECK_FALSE(sel("app=", kWeb));
  auto r = LabelSelector::parse("app==web").requirements();
  REQUIRE(r.size() == 1);
  CHECK(r[0].op == Requirement::Op::Equals);
  CHECK(r[0].values == std::vector<std::string>{"web"});
}

TEST_CASE("label selector: set forms", "[api][selector]") {
  CHECK(sel("app in (web,api)"));
  CHECK(sel("app in ( api , web )"));
  CHECK_FALSE(sel("app in (api,db)"));
  CHECK_FALSE(sel("missing in (web)"));
  CHECK(sel("app notin (api,db)"));
  CHECK_FALSE(sel("app notin (web)"));
  CHECK(sel("missing notin (web)"));
  CHECK(sel("env in (prod),app notin (db)"));
  auto r = LabelSelector::parse("app in (b,a,b)").requirements();
  REQUIRE(r.size() == 1);
  CHECK(r[0].op == Requirement::Op::In);
  CHECK(r[0].values == std::vector<std::string>{"a", "b"});
  CHECK(sel("app in (x,)", Json{{"app", ""}}));  // a trailing comma adds the empty value
}

TEST_CASE("label selector: existence forms", "[api][selector]") {
  CHECK(sel("app"));
  CHECK_FALSE(sel("missing"));
  CHECK(sel("!missing"));
  CHECK_FALSE(sel("!app"));
  CHECK(sel("app,!missing,tier"));
  CHECK(sel("example.com/role", Json{{"example.com/role", "x"}}));
  CHECK_FALSE(sel("app", Json()));
  auto r = LabelSelector::parse("!a").requirements();
  REQUIRE(r.size() == 1);
  CHECK(r[0].op == Requirement::Op::DoesNotExist);
}

TEST_CASE("label selector: toString round-trips", "[api][selector]") {
  for (const char* text : {"app=web", "app!=web", "app in (a,b)", "app notin (a)", "app", "!app",
                           "a=b,c in (d,e),!f,g"}) {
    auto s = LabelSelector::parse(text);
    CHECK(s.toString() == text);
    CHECK(LabelSelector::parse(s.toString()).toString() == text);
  }
  CHECK(LabelSelector::parse("app==web").toString() == "app=web");
}

TEST_CASE("label selector: grammar errors", "[api][selector]") {
  CHECK_THAT(parseError("app=web,"), Catch::Contains("expected a requirement after ','"));
  CHECK_THAT(parseError(",app"), Catch::Contains("expected a key"));
  CHECK_THAT(parseError("app web"), Catch::Contains("found 'web', expected: in, notin, =, ==, !="));
  CHECK_THAT(parseError("app in web"), Catch::Contains("expected '('"));
  CHECK_THAT(parseError("app in (a"), Catch::Contains("expected ',' or ')'"));
  CHECK_THAT(parseError("app in (a b)"), Catch::Contains("expected ',' or ')'"));
  CHECK_THAT(parseError("app in ()"), Catch::Contains("values set can't be empty"));
  CHECK_THAT(parseError("!"), Catch::Contains("expected a key after '!'"));
  CHECK_THAT(parseError("a=b=c"), Catch::Contains("expected ','"));
  CHECK_THAT(parseError("!a=b"), Catch::Contains("expected ','"));
  CHECK_THAT(parseError("a=(b)"), Catch::Contains("expected ','"));
  CHECK_THAT(parseError("app=web"
                        "!"),
             Catch::Contains("expected ','"));
  // Every message names the selector.
  CHECK_THAT(parseError("app web"), Catch::StartsWith("unable to parse requirement: invalid label selector \"app web\""));
}

TEST_CASE("label selector: key and value errors", "[api][selector]") {
  CHECK_THAT(parseError("-app=web"), Catch::Contains("invalid label key \"-app\""));
  CHECK_THAT(parseError("Example.com/app=web"), Catch::Contains("prefix part must be a lowercase RFC 1123 subdomain"));
  CHECK_THAT(parseError(std::string(64, 'a').append("=b").c_str()), Catch::Contains("no more than 63 characters"));
  CHECK_THAT(parseError("app=-web"), Catch::Contains("invalid label value: \"-web\""));
  CHECK_THAT(parseError("app in (ok,bad/value)"), Catch::Contains("invalid label value"));
  CHECK_THAT(parseError(("app=" + std::string(64, 'v')).c_str()), Catch::Contains("must be no more than 63 characters"));
  CHECK(sel("App_1.x=Val-2_b.c", Json{{"App_1.x", "Val-2_b.c"}}));  // upper case, '_' and '.' are fine
}

TEST_CASE("label key and value rules", "[api][selector]") {
  using minikd::api::labelKeyError;
  using minikd::api::labelValueError;
  CHECK(labelKeyError("app").empty());
  CHECK(labelKeyError("kubernetes.io/metadata.name").empty());
  CHECK(labelKeyError("a.b-c/D_e.f").empty());
  CHECK(labelKeyError("") == "name part must be non-empty");
  CHECK_FALSE(labelKeyError("a/").empty());
  CHECK_FALSE(labelKeyError("/a").empty());
  CHECK_FALSE(labelKeyError("a/b/c").empty());
  CHECK_FALSE(labelKeyError("a_").empty());
  CHECK_FALSE(labelKeyError(std::string(254, 'a') + "/b").empty());
  CHECK(labelValueError("").empty());
  CHECK(labelValueError("v1.2_3-x").empty());
  CHECK(labelValueError(std::string(63, 'v')).empty());
  CHECK(labelValueError(std::string(64, 'v')) == "must be no more than 63 characters");
  CHECK_FALSE(labelValueError("a b").empty());
  CHECK_FALSE(labelValueError("_a").empty());
}

TEST_CASE("label selector: structured form", "[api][selector]") {
  auto s = LabelSelector::fromJson({{"matchLabels", {{"app", "web"}}},
                                    {"matchExpressions",
                                     {{{"key", "tier"}, {"operator", "In"}, {"values", {"front", "back"}}},
                                      {{"key", "env"}, {"operator", "NotIn"}, {"values", {"dev"}}},
                                      {{"key", "env"}, {"operator", "Exists"}},
                                      {{"key", "debug"}, {"operator", "DoesNotExist"}}}}});
  CHECK(s.requirements().size() == 5);
  CHECK(s.matches(kWeb));
  CHECK_FALSE(s.matches(Json{{"app", "web"}, {"tier", "front"}}));  // env must exist
  CHECK_FALSE(s.matches(Json{{"app", "web"}, {"tier", "front"}, {"env", "prod"}, {"debug", "1"}}));
  CHECK(LabelSelector::fromJson(Json()).empty());
  CHECK(LabelSelector::fromJson(Json::object()).matches(kWeb));
  CHECK(LabelSelector::fromJson({{"matchLabels", nullptr}}).empty());
}

TEST_CASE("label selector: structured form errors", "[api][selector]") {
  auto err = [](const Json& j) -> std::string {
    try {
      LabelSelector::fromJson(j);
    } catch (const ApiError& e) {
      CHECK(e.code() == 400);
      return e.what();
    }
    return "";
  };
  CHECK_THAT(err("app=web"), Catch::Contains("must be an object"));
  CHECK_THAT(err({{"matchLabels", {"a"}}}), Catch::Contains("matchLabels must be an object"));
  CHECK_THAT(err({{"matchLabels", {{"app", 1}}}}), Catch::Contains("must be a string"));
  CHECK_THAT(err({{"matchLabels", {{"-bad", "x"}}}}), Catch::Contains("invalid label key"));
  CHECK_THAT(err({{"matchLabels", {{"app", "bad value"}}}}), Catch::Contains("invalid label value"));
  CHECK_THAT(err({{"matchExpressions", {{"key", "a"}}}}), Catch::Contains("matchExpressions must be a list"));
  CHECK_THAT(err({{"matchExpressions", {{{"key", "a"}, {"operator", "Gt"}}}}}),
             Catch::Contains("\"Gt\" is not a valid label selector operator"));
  CHECK_THAT(err({{"matchExpressions", {{{"key", "a"}, {"operator", "In"}}}}}),
             Catch::Contains("must be specified when `operator` is 'In' or 'NotIn'"));
  CHECK_THAT(err({{"matchExpressions", {{{"key", "a"}, {"operator", "Exists"}, {"values", {"x"}}}}}}),
             Catch::Contains("may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
  CHECK_THAT(err({{"matchExpressions", {{{"key", "a"}, {"operator", "In"}, {"values", {1}}}}}}),
             Catch::Contains("must be strings"));
  CHECK_THAT(err({{"matchExpressions", {{{"operator", "Exists"}}}}}), Catch::Contains("invalid label key"));
}

TEST_CASE("label selector: fromMap and nothing", "[api][selector]") {
  auto s = LabelSelector::fromMap({{"app", "web"}, {"tier", "front"}});
  CHECK(s.matches(kWeb));
  CHECK(s.matches(std::map<std::string, std::string>{{"app", "web"}, {"tier", "front"}}));
  CHECK_FALSE(s.matches(std::map<std::string, std::string>{{"app", "web"}}));
  CHECK(s.toString() == "app=web,tier=front");
  CHECK(LabelSelector::fromMap({}).matches(kWeb));
  auto none = LabelSelector::nothing();
  CHECK_FALSE(none.empty());
  CHECK_FALSE(none.matches(kWeb));
  CHECK_FALSE(none.matches(Json::object()));
  CHECK_FALSE(none.matches(std::map<std::string, std::string>{}));
}

TEST_CASE("field selector: terms, negation and values", "[api][selector]") {
  Json pod = {{"metadata", {{"name", "web-1"}, {"namespace", "default"}}},
              {"spec", {{"nodeName", "n1"}}},
              {"status", {{"phase", "Running"}}}};
  CHECK(FieldSelector::parse("").empty());
  CHECK(FieldSelector::parse("").matches(pod));
  CHECK(FieldSelector::parse("metadata.name=web-1").matches(pod));
  CHECK(FieldSelector::parse("metadata.name==web-1").matches(pod));
  CHECK_FALSE(FieldSelector::parse("metadata.name=web-2").matches(pod));
  CHECK(FieldSelector::parse("status.phase!=Pending").matches(pod));
  CHECK_FALSE(FieldSelector::parse("status.phase!=Running").matches(pod));
  CHECK(FieldSelector::parse("metadata.namespace=default,spec.nodeName=n1").matches(pod));
  CHECK_FALSE(FieldSelector::parse("metadata.namespace=default,spec.nodeName=n2").matches(pod));
  CHECK(FieldSelector::parse("spec.nodeName=").matches(Json{{"spec", Json::object()}}));
  auto fs = FieldSelector::parse("metadata.namespace=default,metadata.name!=x,metadata.name=web-1");
  CHECK(fs.requiredValue("metadata.name") == "web-1");
  CHECK(fs.requiredValue("metadata.namespace") == "default");
  CHECK(fs.requiredValue("spec.nodeName").empty());
  Json ev = {{"involvedObject", {{"uid", "u1"}, {"name", "web-1"}, {"kind", "Pod"}}}, {"type", "Warning"}};
  CHECK(FieldSelector::parse("involvedObject.uid=u1,involvedObject.kind=Pod,type=Warning").matches(ev));
}

TEST_CASE("field selector: errors", "[api][selector]") {
  auto err = [](const char* text) -> std::string {
    try {
      FieldSelector::parse(text);
    } catch (const ApiError& e) {
      CHECK(e.code() == 400);
      return e.what();
    }
    return "";
  };
  CHECK_THAT(err("metadata.labels=x"), Catch::Contains("field label not supported: metadata.labels"));
  CHECK_THAT(err("metadata.name"), Catch::Contains("expected field=value"));
  CHECK_THAT(err("spec.nodeName=a,bogus=b"), Catch::Contains("not supported: bogus"));
}
