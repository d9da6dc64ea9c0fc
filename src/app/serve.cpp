#include "app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <memory>
#include <optional>

#include "app/catalog.h"
#include "app/cluster.h"
#include "common/clock.h"
#include "common/ids.h"
#include "common/log.h"
#include "common/metrics.h"
#include "common/time_format.h"
#include "connectors/http/http.h"  // the OAuth2 rotated-token sink
#include "connectors/s3/s3_file_store.h"
#include "core/action.h"
#include "core/auth_service.h"
#include "core/connection_service.h"
#include "core/document.h"
#include "core/events.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "core/secrets.h"
#include "engine/engine.h"
#include "engine/retention.h"
#include "engine/scheduler.h"
#include "engine/single_step.h"
#include "schedule/zone.h"
#include "server/access.h"
#include "server/hooks/receiver.h"
#include "server/server.h"
#include "store/files/local_file_store.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

#ifndef WEFT_DEFAULT_UI_DIR
#define WEFT_DEFAULT_UI_DIR ""
#endif

namespace weft::app {
namespace {

namespace fs = std::filesystem;

// --ui-dir, else <exe dir>/../share/weft/ui when installed, else the source tree's ui/dist.
std::string ResolveUiDir(const std::string& flag, const std::string& argv0) {
  if (!flag.empty()) return flag;
  std::error_code ec;
  fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  if (ec) exe = fs::absolute(argv0, ec);
  fs::path installed = exe.parent_path() / ".." / "share" / "weft" / "ui";
  if (fs::is_regular_file(installed / "index.html", ec))
    return fs::weakly_canonical(installed, ec).string();
  return WEFT_DEFAULT_UI_DIR;
}

int g_signal_pipe[2] = {-1, -1};

void OnSignal(int sig) {
  unsigned char b = static_cast<unsigned char>(sig);
  ssize_t ignored = write(g_signal_pipe[1], &b, 1);
  (void)ignored;
}

int WaitForSignal() {
  unsigned char b = 0;
  for (;;) {
    ssize_t n = read(g_signal_pipe[0], &b, 1);
    if (n == 1) return b;
    if (n < 0 && errno == EINTR) continue;
    return SIGTERM;
  }
}

int Fatal(const std::string& message) {
  log::Error(message);
  std::cerr << "weft: " << message << "\n";
  return 1;
}

// --roles: which jobs this node does. Empty set on a bad name.
struct Roles {
  bool api = false, webhooks = false, scheduler = false, workers = false;
};
Result<Roles> ParseRoles(const std::string& list) {
  Roles r;
  size_t pos = 0;
  while (pos <= list.size()) {
    size_t comma = list.find(',', pos);
    if (comma == std::string::npos) comma = list.size();
    std::string name = list.substr(pos, comma - pos);
    while (!name.empty() && name.front() == ' ') name.erase(name.begin());
    while (!name.empty() && name.back() == ' ') name.pop_back();
    if (name == "api")
      r.api = true;
    else if (name == "webhooks")
      r.webhooks = true;
    else if (name == "scheduler")
      r.scheduler = true;
    else if (name == "workers")
      r.workers = true;
    else if (name == "all")
      r.api = r.webhooks = r.scheduler = r.workers = true;
    else if (!name.empty())
      return Fail(ErrorCode::kValidation, "--roles: unknown role \"" + name +
                                              "\" (roles: api, webhooks, scheduler, workers)");
    pos = comma + 1;
  }
  if (!r.api && !r.webhooks && !r.scheduler && !r.workers)
    return Fail(ErrorCode::kValidation,
                "--roles: name at least one of api, webhooks, scheduler, workers");
  return r;
}

// --max-step-output: bytes, or a number with KiB/MiB/GiB (KB/MB/GB taken as
// the same); nullopt when malformed or zero.
std::optional<size_t> ParseSize(const std::string& text) {
  size_t digits = 0;
  while (digits < text.size() && std::isdigit(static_cast<unsigned char>(text[digits]))) ++digits;
  std::string unit = text.substr(digits);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  uint64_t scale = unit.empty() || unit == "b"                    ? 1
                   : unit == "kib" || unit == "kb" || unit == "k" ? 1024
                   : unit == "mib" || unit == "mb" || unit == "m" ? 1024 * 1024
                   : unit == "gib" || unit == "gb" || unit == "g" ? 1024ull * 1024 * 1024
                                                                  : 0;
  if (digits == 0 || digits > 12 || scale == 0) return std::nullopt;
  uint64_t n = std::stoull(text.substr(0, digits));
  if (n == 0) return std::nullopt;
  return static_cast<size_t>(n * scale);
}

// The first sealed secret stored in a connection, if any.
const Json* FindSealed(const Json& v) {
  if (v.is_string()) return SecretBox::IsSealed(v) ? &v : nullptr;
  if (v.is_object() || v.is_array()) {
    for (const auto& item : v)
      if (const Json* found = FindSealed(item)) return found;
  }
  return nullptr;
}

// With several nodes every node needs the key the secrets were sealed with:
// try it on one stored secret now rather than fail each run later.
Result<void> CheckSecretKey(Store& store, const SecretBox& box) {
  auto connections = store.ListConnections();
  if (!connections) return Fail(connections.error());
  for (const auto& c : *connections) {
    const Json* sealed = FindSealed(c.settings);
    if (!sealed) sealed = FindSealed(c.auth);
    if (!sealed) continue;
    if (!box.Decrypt(sealed->get<std::string>())) {
      return Fail(
          ErrorCode::kValidation,
          "WEFT_SECRET_KEY cannot decrypt the secrets stored in the database (connection \"" +
              c.name +
              "\"): every node must be given the same WEFT_SECRET_KEY as the node "
              "that stored them");
    }
    return Ok();
  }
  return Ok();
}

}  // namespace

int RunServe(const ServeOptions& o, const std::string& argv0) {
  // SIGTERM/SIGINT reach a handler that writes to a pipe the main thread
  // reads, whichever thread the kernel picks (a library may have started
  // threads before us, so a sigwait mask would not cover them all).
  if (pipe2(g_signal_pipe, O_CLOEXEC) != 0) return Fatal("cannot create the signal pipe");
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGINT, &action, nullptr);
  signal(SIGPIPE, SIG_IGN);

  log::Level level = log::Level::kInfo;
  if (o.log_level == "debug") level = log::Level::kDebug;
  if (o.log_level == "warn") level = log::Level::kWarn;
  if (o.log_level == "error") level = log::Level::kError;
  log::Configure(o.log_format, level);
  // Before any module records: --metrics=false leaves every record call a no-op.
  metrics::SetEnabled(o.metrics);
  if (o.metrics) metrics::Weft();  // every family listed from the first scrape

  if (auto tz = TimeZone::Find(o.timezone); !tz) return Fatal("--timezone: " + tz.error().message);
  if (o.workers < 1 || o.workers > 1024) return Fatal("--workers must be between 1 and 1024");
  auto roles = ParseRoles(o.roles);
  if (!roles) return Fatal(roles.error().message);
  const bool on_postgres = !o.db.empty();
  if (on_postgres && !o.db.starts_with("postgres://") && !o.db.starts_with("postgresql://"))
    return Fatal(
        "--db must be a PostgreSQL URL (postgres://user@host/db); leave it out to use SQLite in "
        "--data");

  // Every flag that can be checked without the store is checked here, before
  // the data dir or the database is touched: a refused start leaves nothing
  // behind (no data dir, no database file, no secret key).
  auto lease = ParseDuration(o.lease);
  if (!lease || *lease < Millis(1000))
    return Fatal("--lease must be a duration of at least 1s, such as 30s");
  auto max_step_output = ParseSize(o.max_step_output);
  if (!max_step_output)
    return Fatal("--max-step-output must be a size such as 4MiB, 512KiB or 1000000 (bytes)");
  auto max_file_size = ParseSize(o.max_file_size);
  if (!max_file_size || *max_file_size == 0)
    return Fatal("--max-file-size must be a size such as 5GiB, 200MiB or 1000000 (bytes)");
  // --files: a folder, or a bucket (s3://bucket/prefix) that every node shares.
  const bool files_in_bucket = o.files.starts_with("s3://");
  connectors::S3FileStoreOptions s3_files;
  if (files_in_bucket) {
    if (auto parsed = connectors::ParseS3FilesUrl(o.files, &s3_files); !parsed)
      return Fatal(parsed.error().message);
    s3_files.max_file_size = *max_file_size;
  } else if (!o.files.empty() && on_postgres) {
    return Fatal("--files " + o.files +
                 ": with --db postgres the file store must be shared by every node; give a "
                 "bucket, --files s3://bucket/prefix");
  }
  if (!o.files_connection.empty() && !files_in_bucket)
    return Fatal(
        "--files-connection names the credentials of a bucket: it needs --files "
        "s3://bucket/prefix");
  auto expr_timeout = ParseDuration(o.expr_timeout);
  if (!expr_timeout || expr_timeout->count() <= 0 || *expr_timeout > kMaxExpressionTimeout)
    return Fatal("--expr-timeout must be a duration longer than zero and at most 10m, such as 1s");
  auto expr_memory = ExpressionMemory(Json(o.expr_memory));
  if (!expr_memory) return Fatal("--expr-memory must be a size from 64KiB to 4GiB, such as 64MiB");
  auto retain = ParseDuration(o.retain_deliveries);
  if (!retain) return Fatal("--retain-deliveries must be a duration such as 7d");
  if (o.retain_deliveries_count < 1) return Fatal("--retain-deliveries-count must be at least 1");
  // Retention of runs: on the nodes with the scheduler role.
  RetentionOptions retention;
  auto off_or_duration = [](const std::string& text, std::optional<Millis>* out) {
    if (text == "off" || text == "never") return true;
    auto d = ParseDuration(text);
    if (!d || d->count() <= 0) return false;
    *out = *d;
    return true;
  };
  if (!off_or_duration(o.retain_runs, &retention.runs))
    return Fatal("--retain-runs must be a duration such as 30d, or off");
  if (!o.retain_failed_runs.empty() &&
      !off_or_duration(o.retain_failed_runs, &retention.failed_runs))
    return Fatal("--retain-failed-runs must be a duration such as 90d, or off");
  auto retention_every = ParseDuration(o.retention_interval);
  if (!retention_every || *retention_every < Millis(100))
    return Fatal("--retention-interval must be a duration of at least 100ms, such as 1m");
  retention.every = *retention_every;
  retention.keep = o.retain_runs_count;
  if (on_postgres) {
    // Every node must seal and open secrets with one key: there is no shared
    // data dir to keep a key file in.
    const char* key = std::getenv("WEFT_SECRET_KEY");
    if (!key || !*key)
      return Fatal(
          "--db postgres://... needs WEFT_SECRET_KEY (64 hex characters), the same on every node: "
          "it encrypts connection secrets in the shared database (e.g. `openssl rand -hex 32`)");
    if (auto box = SecretBox::FromHex(key); !box)
      return Fatal("WEFT_SECRET_KEY: " + box.error().message);
  }
  auto header_timeout = ParseDuration(o.header_timeout);
  if (!header_timeout || *header_timeout < Millis(100))
    return Fatal("--header-timeout must be a duration of at least 100ms, such as 10s");
  auto idle_timeout = ParseDuration(o.idle_timeout);
  if (!idle_timeout || *idle_timeout < Millis(100))
    return Fatal("--idle-timeout must be a duration of at least 100ms, such as 60s");
  // Binding checks --listen as well: its form, and that the address is free.
  // Nothing is served (or accepted) until Serve, below.
  server::ServerOptions server_options;
  server_options.listen = o.listen;
  server_options.max_connections = static_cast<size_t>(o.max_connections);
  server_options.header_timeout = *header_timeout;
  server_options.idle_timeout = *idle_timeout;
  server_options.min_body_rate = static_cast<size_t>(o.min_body_rate);
  server_options.http_threads = o.http_threads;
  server_options.http_workers = o.http_workers;
  server_options.spool_dir = o.data_dir;
  server_options.ui_dir = roles->api ? ResolveUiDir(o.ui_dir, argv0) : "";  // the UI needs the API
  auto server = server::Server::Bind(server_options);
  if (!server) return Fatal("--listen: " + server.error().message);
  std::string address = (*server)->address();

  SystemClock clock;
  // Only app names the concrete stores; everyone below sees a Store&.
  std::unique_ptr<Store> store_holder;
  PostgresStore* pg_store = nullptr;
  SqliteStore* sqlite_store = nullptr;
  PostgresOptions pg_options;
  if (on_postgres) {
    pg_options.url = o.db;
    pg_options.clock = &clock;
    pg_options.pool_size =
        std::max(8, o.workers + 6);  // workers plus the API, webhooks and scheduler
    auto opened = PostgresStore::Open(pg_options);
    if (!opened) return Fatal(opened.error().message);
    pg_store = opened->get();
    log::Info("store open", {{"store", "postgres"},
                             {"schema", pg_options.schema},
                             {"schema_version", std::to_string((*opened)->schema_version())}});
    store_holder = std::move(*opened);
  } else {
    SqliteOptions store_options;
    store_options.data_dir = o.data_dir;
    store_options.synchronous = o.sqlite_sync == "full" ? SqliteOptions::Synchronous::kFull
                                                        : SqliteOptions::Synchronous::kNormal;
    store_options.clock = &clock;
    auto opened = SqliteStore::Open(store_options);
    if (!opened) return Fatal(opened.error().message);
    sqlite_store = opened->get();
    log::Info("store open", {{"path", (*opened)->db_path()},
                             {"schema_version", std::to_string((*opened)->schema_version())},
                             {"synchronous", o.sqlite_sync}});
    store_holder = std::move(*opened);
  }
  Store& store = *store_holder;

  // Access control: while no user exists weft serves this machine only.
  AuthService auth(store, clock);
  auto users_exist = auth.UsersExist();
  if (!users_exist) return Fatal(users_exist.error().message);
  if (!*users_exist && !server::IsLoopbackHost(o.listen)) {
    return Fatal(
        "--listen " + o.listen +
        ": no user exists yet, so weft serves only this machine (127.0.0.1, ::1, localhost). "
        "Add a user first: weft user add NAME --role admin" +
        (on_postgres ? std::string(" --db URL") : " --data " + o.data_dir) +
        " (then sign in or use an API token), or listen on 127.0.0.1");
  }

  auto secrets = on_postgres ? SecretBox::FromHex(std::getenv("WEFT_SECRET_KEY"))
                             : SecretBox::Open(o.data_dir);
  if (!secrets) return Fatal((on_postgres ? "WEFT_SECRET_KEY: " : "") + secrets.error().message);
  if (auto checked = CheckSecretKey(store, *secrets); !checked)
    return Fatal(checked.error().message);

  ActionCatalog catalog;
  RegisterAllConnectors(catalog);
  // The user's connector manifests: one that does not load is left out whole, named in the log.
  for (const auto& problem : LoadUserManifests(catalog, o.data_dir))
    log::Error("connector manifest not loaded", {{"problem", problem}});
  ChangeHub hub;
  // Webhooks the SQLite store's journal took in wake the engine once they
  // are imported (SqliteStore::SetRunsImportedListener); the listener goes
  // before the hub does.
  struct ImportListener {
    SqliteStore* store;
    ~ImportListener() {
      if (store) store->SetRunsImportedListener(nullptr);
    }
  } import_listener{sqlite_store};
  if (sqlite_store) sqlite_store->SetRunsImportedListener([&hub] { hub.RunQueued(); });

  FlowServiceOptions flow_options;
  flow_options.public_url = o.public_url.empty() ? "http://" + address : o.public_url;
  while (flow_options.public_url.ends_with("/")) flow_options.public_url.pop_back();
  flow_options.default_timezone = o.timezone;
  flow_options.secrets = &*secrets;  // webhook secrets sealed at rest, like connection secrets
  ScheduleFacts schedule_facts;      // save-time schedule validation, Flow List summaries
  FlowService flows(store, catalog, hub, clock, flow_options, &schedule_facts);
  RunService runs(store, hub, clock);
  ConnectionService connections(store, catalog, *secrets, clock);
  connections.SetOAuthRedirectUri(flow_options.public_url + "/api/v1/oauth/callback");
  // A provider that rotates refresh tokens: the new ones go into the stored
  // connection at once (the old refresh token no longer works after a restart).
  connectors::SetRotatedTokenSink([&connections](const connectors::RotatedTokens& t) {
    if (auto saved = connections.SaveRefreshedTokens(t.connection_id, t.access_token,
                                                     t.refresh_token, t.expires_at);
        !saved)
      log::Error("could not store a connection's rotated OAuth tokens",
                 {{"connection", t.connection_id}, {"error", saved.error().message}});
  });
  struct RotatedTokenSinkReset {
    ~RotatedTokenSinkReset() { connectors::SetRotatedTokenSink(nullptr); }
  } rotated_token_sink_reset;  // before `connections` goes

  // Files (core/files.h): in the data dir (or --files DIR) with the store's
  // fsync discipline, or in a bucket every node shares (--files s3://...).
  // Several nodes need a store they all read, which PostgreSQL's data dirs
  // are not: without a bucket files stay off there (steps keep bytes in the
  // run, as before).
  std::unique_ptr<FileStore> files;
  if (files_in_bucket) {
    connectors::S3OptionsFromEnvironment(&s3_files);
    if (!o.files_connection.empty()) {
      auto conn = connections.Resolve(o.files_connection);
      if (!conn)
        return Fatal("--files-connection " + o.files_connection + ": " + conn.error().message);
      if (auto used = connectors::S3OptionsFromConnection(*conn, &s3_files); !used)
        return Fatal(used.error().message);
    }
    s3_files.clock = &clock;
    auto opened = connectors::S3FileStore::Open(s3_files);
    if (!opened) return Fatal("--files " + o.files + ": " + opened.error().message);
    // Uploads a dead node left unfinished; files no run references go with
    // the sweep once an hour old (younger ones may be another node's step
    // that has not committed yet).
    if (auto dropped = (*opened)->DropUnfinished(); !dropped)
      log::Warn("files: could not list unfinished uploads", {{"error", dropped.error().message}});
    if (auto swept = SweepFiles(store, **opened, clock.Now() - Millis(3'600'000)); !swept)
      log::Warn("files: could not sweep", {{"error", swept.error().message}});
    log::Info("file store open", {{"files", (*opened)->Describe()}});
    files = std::move(*opened);
  } else if (!on_postgres) {
    LocalFileStoreOptions file_options;
    file_options.dir = o.files.empty() ? std::filesystem::path(o.data_dir) / "files"
                                       : std::filesystem::path(o.files);
    file_options.max_file_size = *max_file_size;
    file_options.sync = o.sqlite_sync == "full";
    file_options.clock = &clock;
    auto opened = LocalFileStore::Open(file_options);
    if (!opened) return Fatal(opened.error().message);
    // What a crash left half-written goes; then, before any step runs, the
    // files no run references (their step never committed).
    (void)(*opened)->DropUnfinished();
    if (auto swept = SweepFiles(store, **opened, clock.Now()); !swept)
      log::Warn("files: could not sweep", {{"error", swept.error().message}});
    log::Info("file store open", {{"files", (*opened)->Describe()}});
    files = std::move(*opened);
  } else {
    log::Warn(
        "files are off: with --db postgres every node must read every file, which needs a "
        "shared store, --files s3://bucket/prefix; steps keep bytes in the run's JSON");
  }

  EngineOptions engine_options;
  engine_options.workers = o.workers;
  engine_options.resolve_connection = [&connections](const std::string& name) {
    return connections.Resolve(name);
  };
  engine_options.lease = *lease;
  engine_options.node_id = "node-" + RandomToken(48);
  // Failure alerts, payload cap, back-pressure.
  engine_options.public_url = flow_options.public_url;
  engine_options.default_error_flow = o.error_flow;
  engine_options.max_step_output = *max_step_output;
  engine_options.files = files.get();
  engine_options.expr_timeout = *expr_timeout;
  engine_options.expr_memory = *expr_memory;
  runs.SetMaxQueued(o.max_queued);
  // Several nodes: NOTIFY carries "run queued" and "flow changed" between
  // them (polling stays the fallback); started before anything can change.
  std::unique_ptr<NotifyBridge> bridge;
  if (pg_store) {
    bridge = std::make_unique<NotifyBridge>(*pg_store, pg_options, hub, engine_options.node_id);
    if (auto started = bridge->Start(); !started) return Fatal(started.error().message);
  }
  std::unique_ptr<Engine> engine;
  if (roles->workers) {
    engine = std::make_unique<Engine>(store, catalog, hub, clock, engine_options);
    engine->Start();
  }
  SchedulerOptions scheduler_options;
  scheduler_options.default_timezone = o.timezone;
  // On PostgreSQL changes made on other nodes arrive by NOTIFY; the rescan
  // is the fallback for one that was lost.
  if (pg_store) scheduler_options.rescan_interval = Millis(30'000);
  // Poll triggers run with the scheduler (only its role's holder polls).
  scheduler_options.poll_catalog = &catalog;
  scheduler_options.poll.resolve_connection = [&connections](const std::string& name) {
    return connections.Resolve(name);
  };
  scheduler_options.poll.files = files.get();
  std::unique_ptr<Scheduler> scheduler;
  std::unique_ptr<SchedulerRole> scheduler_role;
  if (roles->scheduler && pg_store) {
    // One scheduler among all nodes: whoever holds the advisory lock.
    scheduler_role = std::make_unique<SchedulerRole>(
        pg_options, [&store, &runs, &hub, &clock, scheduler_options] {
          return std::make_unique<Scheduler>(store, runs, hub, clock, scheduler_options);
        });
    scheduler_role->Start();
  } else if (roles->scheduler) {
    scheduler = std::make_unique<Scheduler>(store, runs, hub, clock, scheduler_options);
    scheduler->Start();
  }

  server::hooks::WebhookOptions hook_options;
  hook_options.retain_age = *retain;
  hook_options.retain_count = o.retain_deliveries_count;
  hook_options.secrets = &*secrets;
  hook_options.files = files.get();
  server::hooks::WebhookReceiver hooks(store, runs, hub, clock, hook_options);
  runs.SetWebhookReplay([&hooks](const Flow& flow) { return hooks.ReplayTrigger(flow); });
  hooks.Start();

  std::unique_ptr<Pruner> pruner;
  retention.files = files.get();
  if (roles->scheduler) {
    pruner = std::make_unique<Pruner>(store, clock, retention);
    pruner->Start();
  }

  server::ApiServices services{flows, runs, catalog, hub, clock};
  services.connections = &connections;
  services.files = files.get();
  services.check_poll = [&store, &catalog, &clock, &connections](const Flow& flow) {
    return CheckPoll(store, catalog, clock, flow,
                     [&connections](const std::string& name) { return connections.Resolve(name); });
  };
  services.test_step = [&catalog, &clock, &connections, &files, &engine_options](
                           const FlowDocument& doc, const std::string& step_id, const Json& scope) {
    SingleStepOptions so;
    so.resolve_connection = [&connections](const std::string& name) {
      return connections.Resolve(name);
    };
    so.expr_limits.timeout = engine_options.expr_timeout;
    so.expr_limits.max_memory = engine_options.expr_memory;
    so.files = files.get();
    return RunSingleStep(catalog, clock, doc, step_id, scope, so);
  };
  services.auth = &auth;
  services.hooks = [&hooks](server::HttpRequest& req) { return hooks.Handle(req); };
  services.list_deliveries = [&hooks](server::HttpRequest& req) {
    return hooks.ListDeliveries(req);
  };
  services.get_delivery = [&hooks](server::HttpRequest& req) { return hooks.GetDelivery(req); };
  services.replay_delivery = [&hooks](server::HttpRequest& req) {
    return hooks.ReplayDelivery(req);
  };
  services.install_connector = [&catalog, data_dir = o.data_dir](const std::string& text) {
    return InstallManifest(catalog, data_dir, text);
  };
  services.import_openapi = &ImportOpenApiText;
  services.expr_limits.timeout = *expr_timeout;
  services.expr_limits.max_memory = *expr_memory;
  services.api_enabled = roles->api;
  services.webhooks_enabled = roles->webhooks;
  // GET /readyz. SQLite: this one node runs the scheduler whenever it has the
  // role; PostgreSQL: the node whose SchedulerRole holds the advisory lock.
  std::vector<std::string> role_names;
  if (roles->api) role_names.push_back("api");
  if (roles->webhooks) role_names.push_back("webhooks");
  if (roles->scheduler) role_names.push_back("scheduler");
  if (roles->workers) role_names.push_back("workers");
  services.readiness = [&store, role_names, &scheduler_role, &scheduler] {
    server::Readiness r;
    if (auto st = store.GetSchemaStatus(); st) {
      r.store_reachable = true;
      r.schema_version = st->applied;
      r.migrations_applied = st->applied >= st->known;
    } else {
      r.store_error = st.error().message;
    }
    r.write_problem = store.WriteProblem();
    r.roles = role_names;
    r.scheduler_held = scheduler_role ? scheduler_role->holds() : scheduler != nullptr;
    return r;
  };
  // The queue gauges are read from the store when /metrics is scraped.
  metrics::ScrapeHook queue_metrics;
  if (o.metrics) {
    queue_metrics = metrics::Default().OnScrape([&store, &clock, &scheduler_role, &scheduler] {
      metrics::Weft().scheduler_held.Set(scheduler_role ? scheduler_role->holds()
                                                        : scheduler != nullptr);
      auto q = store.GetQueueStats();
      if (!q) return;
      metrics::Weft().runs_queued.Set(static_cast<double>(q->queued));
      double age = q->oldest_created_at
                       ? std::chrono::duration<double>(clock.Now() - *q->oldest_created_at).count()
                       : 0;
      metrics::Weft().oldest_queued_age.Set(std::max(0.0, age));
    });
  }
  if (roles->webhooks) {
    (*server)->SetWebhookHeadCheck([&hooks](server::HttpRequest& head, size_t& limit) {
      return hooks.CheckHead(head, limit);
    });
    (*server)->SetWebhookInline(
        [&hooks](const server::HttpRequest& head) { return hooks.AnswersAtOnce(head); });
  }
  (*server)->Serve(services);
  log::Info("weft serving", {{"address", address},
                             {"public_url", flow_options.public_url},
                             {"workers", std::to_string(roles->workers ? o.workers : 0)},
                             {"roles", o.roles},
                             {"ui_dir", server_options.ui_dir}});
  // Scripts and tests read this line to learn the port.
  std::cout << "listening on http://" << address << std::endl;

  int sig = WaitForSignal();
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Stop();
  if (scheduler_role) scheduler_role->Stop();
  if (scheduler) scheduler->Stop();
  hooks.Stop();
  if (pruner) pruner->Stop();
  if (engine) engine->Stop();
  if (bridge) bridge->Stop();
  server->reset();
  log::Info("stopped");
  return 0;
}

}  // namespace weft::app
