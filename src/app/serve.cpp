#include "app/serve.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <filesystem>
#include <iostream>

#include "common/clock.h"
#include "common/log.h"
#include "connectors/data/data.h"
#include "connectors/ftp/ftp.h"
#include "connectors/http/http.h"
#include "connectors/postgres/postgres.h"
#include "connectors/s3/s3.h"
#include "connectors/sftp/sftp.h"
#include "connectors/smtp/smtp.h"
#include "connectors/sqlite/sqlite.h"
#include "connectors/utilities/utilities.h"
#include "core/action.h"
#include "core/auth_service.h"
#include "core/connection_service.h"
#include "core/secrets.h"
#include "core/events.h"
#include "core/flow_service.h"
#include "core/run_service.h"
#include "engine/engine.h"
#include "engine/scheduler.h"
#include "schedule/zone.h"
#include "common/time_format.h"
#include "server/hooks/receiver.h"
#include "server/access.h"
#include "server/server.h"
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
  if (fs::is_regular_file(installed / "index.html", ec)) return fs::weakly_canonical(installed, ec).string();
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

  if (auto tz = TimeZone::Find(o.timezone); !tz) return Fatal("--timezone: " + tz.error().message);
  if (o.workers < 1 || o.workers > 1024) return Fatal("--workers must be between 1 and 1024");
  if (!o.db.empty()) {
    return Fatal("--db " + std::string(o.db.starts_with("postgres") ? "postgres://..." : o.db) +
                 ": this build has no PostgreSQL store yet; leave --db out to use SQLite in --data");
  }

  SystemClock clock;
  SqliteOptions store_options;
  store_options.data_dir = o.data_dir;
  store_options.synchronous =
      o.sqlite_sync == "full" ? SqliteOptions::Synchronous::kFull : SqliteOptions::Synchronous::kNormal;
  store_options.clock = &clock;
  auto store = SqliteStore::Open(store_options);
  if (!store) return Fatal(store.error().message);
  log::Info("store open", {{"path", (*store)->db_path()},
                           {"schema_version", std::to_string((*store)->schema_version())},
                           {"synchronous", o.sqlite_sync}});

  // Access control (issue 9): while no user exists weft serves this machine only.
  AuthService auth(**store, clock);
  auto users_exist = auth.UsersExist();
  if (!users_exist) return Fatal(users_exist.error().message);
  if (!*users_exist && !server::IsLoopbackHost(o.listen)) {
    return Fatal("--listen " + o.listen +
                 ": no user exists yet, so weft serves only this machine (127.0.0.1, ::1, localhost). "
                 "Add a user first: weft user add NAME --role admin --data " + o.data_dir +
                 " (then sign in or use an API token), or listen on 127.0.0.1");
  }

  auto secrets = SecretBox::Open(o.data_dir);
  if (!secrets) return Fatal(secrets.error().message);

  ActionCatalog catalog;
  connectors::RegisterUtilities(catalog);
  connectors::RegisterDataFormats(catalog);
  connectors::RegisterHttp(catalog);
  connectors::RegisterSmtp(catalog);
  connectors::RegisterFtp(catalog);
  connectors::RegisterSftp(catalog);
  connectors::RegisterS3(catalog);
  connectors::RegisterPostgres(catalog);
  connectors::RegisterSqlite(catalog);
  ChangeHub hub;

  server::ServerOptions server_options;
  server_options.listen = o.listen;
  server_options.ui_dir = ResolveUiDir(o.ui_dir, argv0);
  auto server = server::Server::Bind(server_options);
  if (!server) return Fatal(server.error().message);
  std::string address = (*server)->address();

  FlowServiceOptions flow_options;
  flow_options.public_url = o.public_url.empty() ? "http://" + address : o.public_url;
  while (flow_options.public_url.ends_with("/")) flow_options.public_url.pop_back();
  flow_options.default_timezone = o.timezone;
  flow_options.secrets = &*secrets;  // webhook secrets sealed at rest, like connection secrets
  ScheduleFacts schedule_facts;  // save-time schedule validation, Flow List summaries
  FlowService flows(**store, catalog, hub, clock, flow_options, &schedule_facts);
  RunService runs(**store, hub, clock);
  ConnectionService connections(**store, catalog, *secrets, clock);
  connections.SetOAuthRedirectUri(flow_options.public_url + "/api/v1/oauth/callback");

  EngineOptions engine_options;
  engine_options.workers = o.workers;
  engine_options.resolve_connection = [&connections](const std::string& name) {
    return connections.Resolve(name);
  };
  Engine engine(**store, catalog, hub, clock, engine_options);
  engine.Start();
  SchedulerOptions scheduler_options;
  scheduler_options.default_timezone = o.timezone;
  Scheduler scheduler(**store, runs, hub, clock, scheduler_options);
  scheduler.Start();

  server::hooks::WebhookOptions hook_options;
  auto retain = ParseDuration(o.retain_deliveries);
  if (!retain) return Fatal("--retain-deliveries must be a duration such as 7d");
  if (o.retain_deliveries_count < 1) return Fatal("--retain-deliveries-count must be at least 1");
  hook_options.retain_age = *retain;
  hook_options.retain_count = o.retain_deliveries_count;
  hook_options.secrets = &*secrets;
  server::hooks::WebhookReceiver hooks(**store, runs, hub, clock, hook_options);
  runs.SetWebhookReplay([&hooks](const Flow& flow) { return hooks.ReplayTrigger(flow); });
  hooks.Start();

  server::ApiServices services{flows, runs, catalog, hub, clock};
  services.connections = &connections;
  services.auth = &auth;
  services.hooks = [&hooks](server::HttpRequest& req) { return hooks.Handle(req); };
  services.list_deliveries = [&hooks](server::HttpRequest& req) { return hooks.ListDeliveries(req); };
  services.get_delivery = [&hooks](server::HttpRequest& req) { return hooks.GetDelivery(req); };
  (*server)->SetWebhookHeadCheck(
      [&hooks](server::HttpRequest& head, size_t& limit) { return hooks.CheckHead(head, limit); });
  (*server)->Serve(services);
  log::Info("weft serving", {{"address", address},
                             {"public_url", flow_options.public_url},
                             {"workers", std::to_string(o.workers)},
                             {"ui_dir", server_options.ui_dir}});
  // Scripts and tests read this line to learn the port.
  std::cout << "listening on http://" << address << std::endl;

  int sig = WaitForSignal();
  log::Info("shutting down", {{"signal", sig == SIGTERM ? "SIGTERM" : "SIGINT"}});
  (*server)->Stop();
  scheduler.Stop();
  hooks.Stop();
  engine.Stop();
  server->reset();
  log::Info("stopped");
  return 0;
}

}  // namespace weft::app
