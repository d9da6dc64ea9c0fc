#include "common/ids.h"
#include "store/sqlite/sqlite_store_impl.h"

namespace weft {

namespace {

std::optional<Flow> FindFlow(Conn& c, const char* column, const std::string& value) {
  Stmt s(c, std::string("SELECT " FLOW_COLS " FROM flows WHERE ") + column + " = :v");
  s.Text(":v", value);
  return One(s, ReadFlow<SqliteRow>);
}

// True when another flow than `except_id` has `column` = `value`.
bool FlowTaken(Conn& c, const char* column, const std::string& value,
               const std::string& except_id) {
  Stmt s(c, std::string("SELECT 1 FROM flows WHERE ") + column + " = :v AND id <> :id");
  s.Text(":v", value).Text(":id", except_id);
  return s.Step();
}

void InsertVersion(Conn& c, const Flow& f, const std::string& document) {
  Stmt s(c,
         "INSERT INTO flow_versions (flow_id, version, document, created_at, created_by) "
         "VALUES (:flow_id, :version, :document, :created_at, :created_by)");
  s.Text(":flow_id", f.id)
      .Int(":version", f.version)
      .Text(":document", document)
      .Time(":created_at", f.updated_at)
      .Text(":created_by", f.updated_by)
      .Run();
}

}  // namespace

// ---- flows ------------------------------------------------------------------------

Result<Flow> SqliteStore::CreateFlow(const FlowWrite& write, const std::string& webhook_token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    WriteTxn txn(c);
    if (FlowTaken(c, "name", write.name, "")) return NameTaken("flow", write.name);
    if (!webhook_token.empty() && FlowTaken(c, "webhook_token", webhook_token, "")) {
      return TokenTaken();
    }
    Flow f;
    f.created_at = f.updated_at = impl_->Now();
    f.id = NewId(ToUnixMs(f.created_at));
    f.name = write.name;
    f.description = write.description;
    f.version = 1;
    f.document = write.document;
    f.active = false;
    f.trigger_type = write.trigger_type;
    f.webhook_token = webhook_token;
    f.updated_by = write.actor;
    std::string document = DumpJson(write.document);
    {
      Stmt s(c, "INSERT INTO flows (" FLOW_BASE_COLS
                ") VALUES (:id, :name, :description, 1, :document, 0, :trigger_type, "
                ":webhook_token, :now, :now, :actor)");
      s.Text(":id", f.id)
          .Text(":name", f.name)
          .Text(":description", f.description)
          .Text(":document", document)
          .Text(":trigger_type", f.trigger_type)
          .Time(":now", f.created_at)
          .Text(":actor", f.updated_by);
      if (webhook_token.empty()) {
        s.Null(":webhook_token");
      } else {
        s.Text(":webhook_token", webhook_token);
      }
      s.Run();
    }
    InsertVersion(c, f, document);
    txn.Commit();
    return f;
  });
}

Result<Flow> SqliteStore::GetFlow(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    auto f = FindFlow(c, "id", id);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::GetFlowByName(const std::string& name) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    auto f = FindFlow(c, "name", name);
    if (!f) return NotFound("flow named \"" + name + "\"");
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::GetFlowByWebhookToken(const std::string& token) {
  return impl_->Read([&](Conn& c) -> Result<Flow> {
    std::optional<Flow> f;
    if (!token.empty()) f = FindFlow(c, "webhook_token", token);
    // The message never carries the token: it is a secret.
    if (!f) return NotFound("flow for webhook token " + RedactToken(token));
    return std::move(*f);
  });
}

Result<std::vector<Flow>> SqliteStore::ListFlows() {
  return impl_->Read([&](Conn& c) -> Result<std::vector<Flow>> {
    Stmt s(c, "SELECT " FLOW_COLS " FROM flows ORDER BY name, id");
    std::vector<Flow> flows;
    while (s.Step()) flows.push_back(ReadFlow(SqliteRow(s)));
    return flows;
  });
}

Result<Flow> SqliteStore::SaveFlow(const std::string& id, const FlowWrite& write,
                                   std::optional<int> base_version,
                                   const std::string& webhook_token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    WriteTxn txn(c);
    auto current = FindFlow(c, "id", id);
    if (!current) return NotFound("flow " + id);
    Flow f = std::move(*current);
    if (base_version && *base_version != f.version) {
      return Fail(ErrorCode::kVersionConflict,
                  "flow " + id + " is at version " + std::to_string(f.version) +
                      ", not base_version " + std::to_string(*base_version));
    }
    std::string document = DumpJson(write.document);
    if (document == DumpJson(f.document)) return f;  // identical: no new version
    if (write.name != f.name && FlowTaken(c, "name", write.name, id)) {
      return NameTaken("flow", write.name);
    }
    if (f.webhook_token.empty() && !webhook_token.empty()) {
      if (FlowTaken(c, "webhook_token", webhook_token, id)) return TokenTaken();
      f.webhook_token = webhook_token;
    }
    f.name = write.name;
    f.description = write.description;
    f.version += 1;
    f.document = write.document;
    f.trigger_type = write.trigger_type;
    f.updated_at = impl_->Now();
    f.updated_by = write.actor;
    {
      Stmt s(c,
             "UPDATE flows SET name = :name, description = :description, version = :version, "
             "document = :document, trigger_type = :trigger_type, "
             "webhook_token = :webhook_token, updated_at = :updated_at, "
             "updated_by = :updated_by WHERE id = :id");
      s.Text(":name", f.name)
          .Text(":description", f.description)
          .Int(":version", f.version)
          .Text(":document", document)
          .Text(":trigger_type", f.trigger_type)
          .Time(":updated_at", f.updated_at)
          .Text(":updated_by", f.updated_by)
          .Text(":id", f.id);
      if (f.webhook_token.empty()) {
        s.Null(":webhook_token");
      } else {
        s.Text(":webhook_token", f.webhook_token);
      }
      s.Run();
    }
    InsertVersion(c, f, document);
    txn.Commit();
    return f;
  });
}

Result<void> SqliteStore::DeleteFlow(const std::string& id) {
  // A webhook accepted before this is in the database, or this fails.
  if (auto caught_up = impl_->CatchUp(); !caught_up) return Fail(caught_up.error());
  return impl_->Write([&](Conn& c) -> Result<void> {
    Stmt s(c, "DELETE FROM flows WHERE id = :id");  // versions go by ON DELETE CASCADE
    s.Text(":id", id).Run();
    if (c.Changes() == 0) return NotFound("flow " + id);
    return Ok();
  });
}

Result<Flow> SqliteStore::SetFlowActive(const std::string& id, bool active) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    Stmt s(c, "UPDATE flows SET active = :active WHERE id = :id RETURNING " FLOW_COLS);
    s.Int(":active", active ? 1 : 0).Text(":id", id);
    auto f = One(s, ReadFlow<SqliteRow>);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<Flow> SqliteStore::SetWebhookToken(const std::string& id, const std::string& token) {
  return impl_->Write([&](Conn& c) -> Result<Flow> {
    if (!token.empty() && FlowTaken(c, "webhook_token", token, id)) return TokenTaken();
    Stmt s(c, "UPDATE flows SET webhook_token = :token WHERE id = :id RETURNING " FLOW_COLS);
    s.Text(":id", id);
    if (token.empty()) {
      s.Null(":token");
    } else {
      s.Text(":token", token);
    }
    auto f = One(s, ReadFlow<SqliteRow>);
    if (!f) return NotFound("flow " + id);
    return std::move(*f);
  });
}

Result<FlowVersion> SqliteStore::GetFlowVersion(const std::string& id, int version) {
  return impl_->Read([&](Conn& c) -> Result<FlowVersion> {
    Stmt s(c,
           "SELECT " VERSION_COLS " FROM flow_versions WHERE flow_id = :id AND version = :version");
    s.Text(":id", id).Int(":version", version);
    auto v = One(s, ReadVersion<SqliteRow>);
    if (!v) return NotFound("flow " + id + " version " + std::to_string(version));
    return std::move(*v);
  });
}

Result<std::vector<FlowVersion>> SqliteStore::ListFlowVersions(const std::string& id) {
  return impl_->Read([&](Conn& c) -> Result<std::vector<FlowVersion>> {
    ReadTxn txn(c);
    {
      Stmt s(c, "SELECT 1 FROM flows WHERE id = :id");
      if (!s.Text(":id", id).Step()) return NotFound("flow " + id);
    }
    Stmt s(c,
           "SELECT " VERSION_COLS " FROM flow_versions WHERE flow_id = :id ORDER BY version DESC");
    s.Text(":id", id);
    std::vector<FlowVersion> versions;
    while (s.Step()) versions.push_back(ReadVersion(SqliteRow(s)));
    return versions;
  });
}

Result<std::vector<std::pair<std::string, RunSummary>>> SqliteStore::LastRuns() {
  return impl_->ReadRuns([&](Conn& c) -> Result<std::vector<std::pair<std::string, RunSummary>>> {
    Stmt s(c,
           "SELECT f.id, r.id, r.status, r.finished_at FROM flows f JOIN runs r ON r.id = "
           "(SELECT id FROM runs WHERE flow_id = f.id ORDER BY created_at DESC, id DESC LIMIT 1) "
           "ORDER BY f.id");
    std::vector<std::pair<std::string, RunSummary>> out;
    while (s.Step()) {
      RunSummary r;
      r.id = s.ColText(1);
      r.status = ReadRunStatus(SqliteRow(s), 2);
      r.finished_at = s.ColOptTime(3);
      out.emplace_back(s.ColText(0), std::move(r));
    }
    return out;
  });
}

}  // namespace weft
