#include "connectors/utilities/utilities.h"

#include "expr/expr.h"

namespace weft::connectors {
namespace {

FieldSpec Input(std::string name, std::string title, std::string type, bool required,
                std::string help, Json default_value = nullptr,
                std::vector<std::string> enum_values = {}) {
  FieldSpec f;
  f.name = std::move(name);
  f.title = std::move(title);
  f.type = std::move(type);
  f.required = required;
  f.help = std::move(help);
  f.default_value = std::move(default_value);
  f.enum_values = std::move(enum_values);
  return f;
}

class SetAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    auto it = ctx.input.find("value");
    return ActionOutcome::Ok(it == ctx.input.end() ? Json(nullptr) : *it);
  }
};

class LogAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    Json message = ctx.input.value("message", Json(""));
    std::string level = GetString(ctx.input, "level", "info");
    std::string text = message.is_string() ? message.get<std::string>() : message.dump();
    ctx.log(level, text);
    return ActionOutcome::Ok(Json{{"message", text}, {"level", level}});
  }
};

class FailAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    Json message = ctx.input.value("message", Json("the flow failed on purpose"));
    return ActionOutcome::Failed(ErrorCode::kStepFailed,
                                 message.is_string() ? message.get<std::string>() : message.dump());
  }
};

// data.transform: its `expression` input is bare JSONata over the run context.
class TransformAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    std::string source = GetString(ctx.input, "expression");
    auto compiled = expr::Expression::Compile(source);
    if (compiled.error)
      return ActionOutcome::Failed(ErrorCode::kExpression,
                                   compiled.error->code + ": " + compiled.error->message);
    // Without an `input`, the expression reads the run context, like {{ }} does.
    auto given = ctx.input.find("input");
    const Json& input =
        given != ctx.input.end() ? *given : (ctx.context ? *ctx.context : Json::object());
    auto r = ctx.expr_limits ? compiled.expression->Evaluate(input, {}, *ctx.expr_limits)
                             : compiled.expression->Evaluate(input);
    if (!r.ok())
      return ActionOutcome::Failed(ErrorCode::kExpression, r.error->code + ": " + r.error->message);
    return ActionOutcome::Ok(r.value ? *r.value : Json(nullptr));
  }
};

// webhook.respond: what a sync webhook answers. Its output is the answer.
class RespondAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    Json status = ctx.input.value("status", Json(200));
    if (!status.is_number_integer() || status.get<int>() < 100 || status.get<int>() > 599)
      return ActionOutcome::Failed(ErrorCode::kValidation,
                                   "status must be an HTTP status from 100 to 599");
    Json headers = ctx.input.value("headers", Json::object());
    if (!headers.is_object())
      return ActionOutcome::Failed(ErrorCode::kValidation, "headers must be an object");
    return ActionOutcome::Ok(Json{{"status", status},
                                  {"headers", headers},
                                  {"body", ctx.input.value("body", Json(nullptr))}});
  }
};

}  // namespace

void RegisterUtilities(ActionCatalog& catalog) {
  ConnectorSpec data;
  data.name = "data";
  data.title = "Data";
  data.description = "Set, reshape and inspect data inside a flow.";
  data.icon = "table";
  data.actions = {
      {"set",
       "Set data",
       "Outputs the given value, with every {{ }} resolved.",
       {Input("value", "Value", "any", true, "Any JSON value; {{ }} expressions are resolved.")},
       "The value.",
       {}},
      {"transform",
       "Transform with JSONata",
       "Evaluates a JSONata expression and outputs the result. It reads `input` when given, else "
       "the run context (trigger, steps, run).",
       {Input("expression", "Expression", "expression", true,
              "A JSONata expression, without {{ }}."),
        Input("input", "Input", "any", false,
              "The value the expression reads as $; without it, the run context.")},
       "The expression's result.",
       {}},
  };
  catalog.Register(data, {{"set", std::make_shared<SetAction>()},
                          {"transform", std::make_shared<TransformAction>()}});

  ConnectorSpec log;
  log.name = "log";
  log.title = "Log";
  log.description = "Writes a message to the run's log.";
  log.icon = "scroll";
  log.actions = {
      {"write",
       "Write to the log",
       "Adds a line to this step's log in the run record.",
       {Input("message", "Message", "string", true, "The text; {{ }} expressions are resolved."),
        Input("level", "Level", "enum", false, "", "info", {"debug", "info", "warn", "error"})},
       "{message, level}",
       {}}};
  catalog.Register(log, {{"write", std::make_shared<LogAction>()}});

  ConnectorSpec flow;
  flow.name = "flow";
  flow.title = "Flow control";
  flow.description = "Branches, loops, waits and failures.";
  flow.icon = "git-branch";
  flow.actions = {
      {"if",
       "If",
       "Runs `then` when the condition is true, else `else`.",
       {Input("condition", "Condition", "any", true,
              "An expression such as {{ steps.fetch.output.status = 200 }}.")},
       "{branch, result}: the branch taken and its last step's output.",
       {"then", "else"}},
      {"foreach",
       "For each",
       "Runs `do` once for every item of a list, with item and index in scope.",
       {Input("items", "Items", "any", true, "A list, e.g. {{ steps.fetch.output.body.items }}."),
        Input("concurrency", "Concurrency", "integer", false, "Iterations at once.", 1)},
       "The list of each iteration's last step output.",
       {"do"}},
      {"delay",
       "Delay",
       "Waits, holding no worker, then continues.",
       {Input("duration", "Duration", "duration", true, "e.g. 30s, 5m, 1h.")},
       "{waited_until}",
       {}},
      {"call",
       "Call a flow",
       "Runs another flow with the given input and waits, holding no worker, for its result. "
       "Calls nest at most 10 deep (a flow may call itself until then).",
       {Input("flow", "Flow", "string", true,
              "The called flow's name or id; its latest version runs, active or not."),
        Input("input", "Input", "any", false, "Becomes the called run's trigger.body.")},
       "The called run's output; the step fails when that run fails or is cancelled.",
       {}},
      {"fail",
       "Fail",
       "Fails the run with a message.",
       {Input("message", "Message", "string", false, "Why the run failed.")},
       "Never succeeds.",
       {}},
  };
  catalog.Register(flow, {{"fail", std::make_shared<FailAction>()}});

  ConnectorSpec webhook;
  webhook.name = "webhook";
  webhook.title = "Webhook response";
  webhook.description = "Sets what a webhook in sync mode answers.";
  webhook.icon = "reply";
  webhook.actions = {
      {"respond",
       "Respond to the webhook",
       "The status, headers and body a sync webhook answers with.",
       {Input("status", "Status", "integer", false, "", 200),
        Input("headers", "Headers", "object", false, ""), Input("body", "Body", "any", false, "")},
       "{status, headers, body}",
       {}}};
  catalog.Register(webhook, {{"respond", std::make_shared<RespondAction>()}});
}

}  // namespace weft::connectors
