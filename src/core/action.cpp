#include "core/action.h"

#include "core/poll.h"

namespace weft {

void ActionCatalog::Register(ConnectorSpec spec,
                             std::map<std::string, std::shared_ptr<Action>> actions,
                             ConnectionTester tester) {
  std::unique_lock lock(*mu_);
  ++generation_;
  for (auto& [name, action] : actions) actions_[spec.name + "." + name] = std::move(action);
  if (tester) testers_[spec.name] = std::move(tester);
  // A second registration under the same name adds its actions to the first
  // (the data connector's actions come from two folders of connectors/).
  if (auto it = by_name_.find(spec.name); it != by_name_.end()) {
    for (auto& a : spec.actions) it->second->actions.push_back(std::move(a));
    return;
  }
  order_.push_back(spec.name);
  specs_.push_back(std::move(spec));
  by_name_[specs_.back().name] = &specs_.back();
}

void ActionCatalog::Replace(ConnectorSpec spec,
                            std::map<std::string, std::shared_ptr<Action>> actions,
                            ConnectionTester tester) {
  std::unique_lock lock(*mu_);
  ++generation_;
  const std::string prefix = spec.name + ".";
  std::erase_if(actions_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  // A replaced manifest's triggers go with it (the new ones are registered after).
  std::erase_if(poll_sources_, [&](const auto& kv) { return kv.first.starts_with(prefix); });
  for (auto& [name, action] : actions) actions_[prefix + name] = std::move(action);
  testers_.erase(spec.name);
  if (tester) testers_[spec.name] = std::move(tester);
  std::erase_if(oauth_exchangers_, [&](const auto& kv) { return kv.first.first == spec.name; });
  if (!by_name_.count(spec.name)) order_.push_back(spec.name);
  // The old spec stays in specs_ (someone may hold a pointer to it), unlisted.
  specs_.push_back(std::move(spec));
  by_name_[specs_.back().name] = &specs_.back();
}

const ConnectorSpec* ActionCatalog::FindLocked(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const ConnectorSpec* ActionCatalog::FindConnector(const std::string& name) const {
  std::shared_lock lock(*mu_);
  return FindLocked(name);
}

std::vector<const ConnectorSpec*> ActionCatalog::Connectors() const {
  std::shared_lock lock(*mu_);
  std::vector<const ConnectorSpec*> out;
  for (const auto& n : order_) out.push_back(FindLocked(n));
  return out;
}

const ConnectorSpec* ActionCatalog::ConnectorOf(const std::string& uses) const {
  auto dot = uses.find('.');
  if (dot == std::string::npos) return nullptr;
  return FindConnector(uses.substr(0, dot));
}

const ActionSpec* ActionCatalog::FindActionSpec(const std::string& uses) const {
  const ConnectorSpec* c = ConnectorOf(uses);
  if (!c) return nullptr;
  std::string action = uses.substr(uses.find('.') + 1);
  for (const auto& a : c->actions)
    if (a.name == action) return &a;
  return nullptr;
}

std::shared_ptr<Action> ActionCatalog::FindAction(const std::string& uses) const {
  std::shared_lock lock(*mu_);
  auto it = actions_.find(uses);
  return it == actions_.end() ? nullptr : it->second;
}

const ConnectionTester* ActionCatalog::FindTester(const std::string& connector) const {
  std::shared_lock lock(*mu_);
  auto it = testers_.find(connector);
  return it == testers_.end() ? nullptr : &it->second;
}

void ActionCatalog::SetOAuthExchanger(const std::string& connector, const std::string& auth_type,
                                      OAuthExchanger exchanger) {
  std::unique_lock lock(*mu_);
  oauth_exchangers_[{connector, auth_type}] = std::move(exchanger);
}

const OAuthExchanger* ActionCatalog::FindOAuthExchanger(const std::string& connector,
                                                        const std::string& auth_type) const {
  std::shared_lock lock(*mu_);
  auto it = oauth_exchangers_.find({connector, auth_type});
  return it == oauth_exchangers_.end() ? nullptr : &it->second;
}

void ActionCatalog::RegisterPollSource(const std::string& connector, PollSpec spec,
                                       std::shared_ptr<PollSource> source) {
  std::unique_lock lock(*mu_);
  ++generation_;
  poll_sources_[connector + "." + spec.name] = std::move(source);
  if (auto it = by_name_.find(connector); it != by_name_.end()) {
    it->second->poll_sources.push_back(std::move(spec));
    return;
  }
  // A source of a connector nobody registered: a connector without actions.
  ConnectorSpec c;
  c.name = connector;
  c.title = connector;
  c.poll_sources.push_back(std::move(spec));
  order_.push_back(connector);
  specs_.push_back(std::move(c));
  by_name_[connector] = &specs_.back();
}

const PollSpec* ActionCatalog::FindPollSpec(const std::string& uses) const {
  const ConnectorSpec* c = ConnectorOf(uses);
  if (!c) return nullptr;
  std::string name = uses.substr(uses.find('.') + 1);
  for (const auto& p : c->poll_sources)
    if (p.name == name) return &p;
  return nullptr;
}

std::shared_ptr<PollSource> ActionCatalog::FindPollSource(const std::string& uses) const {
  std::shared_lock lock(*mu_);
  auto it = poll_sources_.find(uses);
  return it == poll_sources_.end() ? nullptr : it->second;
}

std::vector<std::string> ActionCatalog::PollSourceNames() const {
  std::shared_lock lock(*mu_);
  std::vector<std::string> out;
  for (const auto& [name, source] : poll_sources_) out.push_back(name);
  return out;
}

Json FieldSpecToJson(const FieldSpec& f) {
  Json j = {{"name", f.name},
            {"title", f.title.empty() ? f.name : f.title},
            {"type", f.type},
            {"required", f.required},
            {"secret", f.secret}};
  if (!f.enum_values.empty()) j["enum"] = f.enum_values;
  if (!f.default_value.is_null()) j["default"] = f.default_value;
  if (!f.help.empty()) j["help"] = f.help;
  if (!f.schema.is_null()) j["schema"] = f.schema;
  return j;
}

Json ActionCatalog::ToJson() const {
  Json list = Json::array();
  for (const ConnectorSpec* cp : Connectors()) {
    const ConnectorSpec& c = *cp;
    Json fields = Json::array();
    for (const auto& f : c.fields) fields.push_back(FieldSpecToJson(f));
    Json auth_types = Json::array();
    for (const auto& a : c.auth_types) {
      Json af = Json::array();
      for (const auto& f : a.fields) af.push_back(FieldSpecToJson(f));
      auth_types.push_back({{"name", a.name}, {"title", a.title}, {"fields", af}});
    }
    Json actions = Json::array();
    for (const auto& a : c.actions) {
      Json inputs = Json::array();
      for (const auto& f : a.inputs) inputs.push_back(FieldSpecToJson(f));
      Json aj = {{"name", a.name},
                 {"title", a.title},
                 {"description", a.description},
                 {"inputs", inputs},
                 {"output", a.output}};
      if (!a.containers.empty()) aj["containers"] = a.containers;
      if (a.connection_optional) aj["connection_optional"] = true;
      actions.push_back(std::move(aj));
    }
    Json sources = Json::array();
    for (const auto& p : c.poll_sources) {
      Json inputs = Json::array();
      for (const auto& f : p.inputs) inputs.push_back(FieldSpecToJson(f));
      sources.push_back({{"name", p.name},
                         {"title", p.title},
                         {"description", p.description},
                         {"inputs", inputs},
                         {"item", p.item}});
    }
    Json cj = {{"name", c.name},
               {"title", c.title},
               {"description", c.description},
               {"icon", c.icon},
               {"needs_connection", c.needs_connection},
               {"fields", fields},
               {"auth_types", auth_types},
               {"actions", actions},
               {"poll_sources", sources}};
    if (!c.source.empty()) cj["source"] = c.source;
    if (!c.version.empty()) cj["version"] = c.version;
    if (!c.docs_url.empty()) cj["docs_url"] = c.docs_url;
    if (!c.rate_limit.is_null()) cj["rate_limit"] = c.rate_limit;
    list.push_back(std::move(cj));
  }
  return Json{{"connectors", list}};
}

}  // namespace weft
