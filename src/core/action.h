// Actions and the connector catalog. Each connector action and utility
// implements Action; the catalog lists them with the inputs each declares
// (GET /api/v1/connectors draws every form from it). The catalog is built at
// start-up (app/); connector manifests may be added or replaced while it is
// in use (POST /api/v1/connectors), so every method is thread-safe and a
// spec a lookup returned stays valid for the catalog's lifetime.
#pragma once

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <shared_mutex>
#include <string>
#include <vector>

#include "common/clock.h"
#include "common/error.h"
#include "common/json.h"
#include "common/result.h"
#include "core/model.h"
#include "expr/expr.h"

namespace weft {

class FileStore;

// One input of an action, or one field of a connection / auth type.
struct FieldSpec {
  std::string name;
  std::string title;
  // string | text | number | integer | boolean | object | array | any | duration | enum |
  // expression
  std::string type = "string";
  bool required = false;
  bool secret = false;
  std::vector<std::string> enum_values;
  Json default_value;  // null when none
  std::string help;
  // A manifest action's input: its JSON-Schema subset (core/input_schema.h),
  // checked at save time below the top level too. Null for built-ins.
  Json schema;
};

struct ActionSpec {
  std::string name;  // "request" (the step's `uses` is "<connector>.<name>")
  std::string title;
  std::string description;
  std::vector<FieldSpec> inputs;
  std::string output;                   // what the output holds, for people
  std::vector<std::string> containers;  // nested step lists: {"then","else"} or {"do"}
  // Of a connector that needs a connection: this action runs without one too
  // (http.request with an absolute URL).
  bool connection_optional = false;
};

// A polling source (core/poll.h): what a `type: poll` trigger's `source.uses`
// names, "<connector>.<name>", with the inputs its `with` takes.
struct PollSpec {
  std::string name;  // "new_files"
  std::string title;
  std::string description;
  std::vector<FieldSpec> inputs;
  std::string item;  // what trigger.item holds, for people
};

struct AuthTypeSpec {
  std::string name;  // "basic", "bearer", ...
  std::string title;
  std::vector<FieldSpec> fields;
};

struct ConnectorSpec {
  std::string name;  // "http", "flow", "data"
  std::string title;
  std::string description;
  std::string icon;
  bool needs_connection = false;  // utilities need none
  std::vector<FieldSpec> fields;  // connection settings
  std::vector<AuthTypeSpec> auth_types;
  std::vector<ActionSpec> actions;
  // Of a connector manifest (connectors/manifest/): "builtin" (compiled in) or
  // "user" (<data>/connectors/, POST /api/v1/connectors); empty for code.
  std::string source;
  std::string version;
  std::string docs_url;
  std::vector<PollSpec> poll_sources;  // added by ActionCatalog::RegisterPollSource
  // A manifest's `rate_limit` ({requests, per, burst}): the default of its
  // connections (core/rate_limit.h). Null when none.
  Json rate_limit;
};

// What an action sees while it runs. Valid only during Execute.
struct ActionContext {
  const Json& input;             // the step's resolved `with`
  const Connection* connection;  // null for utilities; secrets decrypted
  const std::string& run_id;
  const std::string& step_path;
  Clock& clock;
  TimePoint deadline;  // the attempt's timeout
  const std::atomic<bool>& cancelled;
  std::function<void(const std::string& level, const std::string& message)> log;
  // The run context expressions see (trigger, steps, run, item, index), for
  // actions that evaluate JSONata themselves (data.transform). Never null in a run.
  const Json* context = nullptr;
  // The budgets of expressions the action evaluates itself (data.transform):
  // the flow's, with the engine's stop flag as the cancel flag. Null: defaults.
  const expr::EvalLimits* expr_limits = nullptr;
  // Where file values' bytes live (core/files.h). Null where files are off
  // (some unit tests): actions then keep their in-memory behaviour.
  FileStore* files = nullptr;
  // Called by a connector right before each request it sends to the
  // application (connectors/http's Exchange): the engine takes the
  // connection's rate slot there and waits for it (core/rate_limit.h). An
  // error stops the action (cancelled, past its deadline). Null: send at once.
  std::function<Result<void>()> before_request;
};

struct ActionOutcome {
  Json output;
  std::optional<Error> error;
  bool retryable = false;              // worth another attempt (network, 5xx, 429)
  std::optional<Millis> retry_after;   // the far side asked us to wait this long
  std::optional<TimePoint> resume_at;  // flow.delay: come back at this time
  // The HTTP status of a failed exchange (0: none). A 429 or 503 with
  // retry_after pauses the step's connection (engine/executor.cpp).
  int http_status = 0;

  static ActionOutcome Ok(Json output) {
    ActionOutcome o;
    o.output = std::move(output);
    return o;
  }
  static ActionOutcome Failed(ErrorCode code, std::string message, bool retryable = false) {
    ActionOutcome o;
    o.error = Error(code, std::move(message));
    o.retryable = retryable;
    return o;
  }
};

class Action {
 public:
  virtual ~Action() = default;
  // Runs once per attempt on a worker thread. Must honour ctx.cancelled and
  // ctx.deadline for anything slow, and never throw.
  virtual ActionOutcome Execute(ActionContext& ctx) = 0;
};

// Checks a connection for POST /connections/{id}/test.
struct ConnectionTestResult {
  bool ok = false;
  std::string message;
};
using ConnectionTester = std::function<ConnectionTestResult(const Connection&, Clock&)>;

// OAuth2 authorization code grant (GET /connections/{id}/oauth/start and the
// callback): the connector exchanges the code the provider sent back for
// tokens at the connection's token URL. The answer is the token endpoint's
// JSON object ({access_token, refresh_token, expires_in, ...}); a failure
// names what the provider said, with secrets redacted.
struct OAuthCodeGrant {
  std::string code;
  std::string redirect_uri;
  std::string code_verifier;  // PKCE
};
using OAuthExchanger =
    std::function<Result<Json>(const Connection&, const OAuthCodeGrant&, Clock&)>;

class PollSource;

class ActionCatalog {
 public:
  // Registers a connector and the implementation of each action it declares
  // (by action name). Container and control utilities (flow.if, flow.foreach,
  // flow.delay) are run by the executor and may have no implementation.
  void Register(ConnectorSpec spec, std::map<std::string, std::shared_ptr<Action>> actions,
                ConnectionTester tester = nullptr);
  // Registers a connector in place of the one of the same name (a user
  // manifest saved again): its old actions and poll sources are gone, steps resolve the new ones.
  void Replace(ConnectorSpec spec, std::map<std::string, std::shared_ptr<Action>> actions,
               ConnectionTester tester = nullptr);

  const ConnectorSpec* FindConnector(const std::string& name) const;
  // "http.request" -> its spec, or null.
  const ActionSpec* FindActionSpec(const std::string& uses) const;
  const ConnectorSpec* ConnectorOf(const std::string& uses) const;
  std::shared_ptr<Action> FindAction(const std::string& uses) const;
  const ConnectionTester* FindTester(const std::string& connector) const;
  // The connector's code exchange, for connections whose auth type is `auth_type`.
  void SetOAuthExchanger(const std::string& connector, const std::string& auth_type,
                         OAuthExchanger exchanger);
  const OAuthExchanger* FindOAuthExchanger(const std::string& connector,
                                           const std::string& auth_type) const;
  // Every connector, in the order first registered.
  std::vector<const ConnectorSpec*> Connectors() const;
  // Counts registrations: a cached rendering of the catalog is stale when it changed.
  uint64_t generation() const {
    std::shared_lock lock(*mu_);
    return generation_;
  }

  // Polling sources (core/poll.h): a connector already registered adds its
  // own, each under "<connector>.<spec.name>". Connector manifests declare
  // theirs through the same call.
  void RegisterPollSource(const std::string& connector, PollSpec spec,
                          std::shared_ptr<PollSource> source);
  const PollSpec* FindPollSpec(const std::string& uses) const;
  std::shared_ptr<PollSource> FindPollSource(const std::string& uses) const;
  // Every registered source's "<connector>.<name>", sorted.
  std::vector<std::string> PollSourceNames() const;

  Json ToJson() const;  // {"connectors": [...]} as GET /api/v1/connectors answers

 private:
  const ConnectorSpec* FindLocked(const std::string& name) const;
  // Behind a pointer so a catalog can be moved (built by a function, then handed over).
  std::unique_ptr<std::shared_mutex> mu_ = std::make_unique<std::shared_mutex>();
  uint64_t generation_ = 0;
  std::deque<ConnectorSpec> specs_;  // never shrinks: pointers handed out stay valid
  std::vector<std::string> order_;   // connector names, first registration first
  std::map<std::string, ConnectorSpec*> by_name_;
  std::map<std::string, std::shared_ptr<Action>> actions_;           // by "connector.action"
  std::map<std::string, std::shared_ptr<PollSource>> poll_sources_;  // by "connector.source"
  std::map<std::string, ConnectionTester> testers_;
  std::map<std::pair<std::string, std::string>, OAuthExchanger> oauth_exchangers_;
};

Json FieldSpecToJson(const FieldSpec& f);

}  // namespace weft
