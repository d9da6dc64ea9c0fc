// weft: the one binary. `weft serve` runs the server; the other commands are
// clients of a running server's API, apart from `weft validate`.
#include <CLI/CLI.hpp>
#include <cstdlib>
#include <iostream>

#include "app/backup.h"
#include "app/catalog.h"
#include "app/commands.h"
#include "app/serve.h"
#include "app/user_commands.h"

int main(int argc, char** argv) {
  CLI::App app{"weft: integration flows in one binary"};
  app.require_subcommand(1);

  weft::app::ClientOptions client;
  if (const char* env = std::getenv("WEFT_SERVER"); env && *env) client.server = env;
  if (const char* env = std::getenv("WEFT_TOKEN"); env && *env) client.token = env;
  auto add_client_flags = [&client](CLI::App* cmd) {
    cmd->add_option("--server", client.server, "weft server URL (env WEFT_SERVER)")
        ->capture_default_str();
    cmd->add_option("--token", client.token, "API token (env WEFT_TOKEN)");
  };

  // serve
  weft::app::ServeOptions serve;
  auto* serve_cmd = app.add_subcommand("serve", "Run the server: API, web UI, webhooks, workers");
  serve_cmd->add_option("--data", serve.data_dir, "data directory (SQLite store)")
      ->capture_default_str();
  serve_cmd->add_option("--db", serve.db,
                        "database URL (postgres://...); default: SQLite in --data");
  serve_cmd
      ->add_option("--roles", serve.roles,
                   "what this node does: api, webhooks, scheduler, workers (comma-separated)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--lease", serve.lease,
                   "how long a node's claim on a run lasts unless renewed; after a node dies "
                   "another resumes its runs this much later")
      ->multi_option_policy(CLI::MultiOptionPolicy::TakeLast)
      ->capture_default_str();
  serve_cmd->add_option("--listen", serve.listen, "address to bind; port 0 picks a free one")
      ->capture_default_str();
  serve_cmd->add_option("--public-url", serve.public_url,
                        "URL by which others reach this server (webhook URLs)");
  serve_cmd->add_option("--timezone", serve.timezone, "default time zone of schedules")
      ->capture_default_str();
  serve_cmd->add_option("--workers", serve.workers, "runs executed at once")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve_cmd->add_option("--log-format", serve.log_format, "text or json")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
  serve_cmd->add_option("--log-level", serve.log_level, "debug, info, warn or error")
      ->check(CLI::IsMember({"debug", "info", "warn", "error"}))
      ->capture_default_str();
  serve_cmd->add_option("--ui-dir", serve.ui_dir, "directory of the built web UI (ui/dist)");
  serve_cmd
      ->add_option(
          "--sqlite-sync", serve.sqlite_sync,
          "normal: commits survive a process crash; full: also power loss (fsync per commit)")
      ->check(CLI::IsMember({"normal", "full"}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--retain-deliveries", serve.retain_deliveries,
                   "keep webhook deliveries this long (7d, 12h)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--retain-deliveries-count", serve.retain_deliveries_count,
                   "keep at most this many deliveries per flow")
      ->capture_default_str();
  serve_cmd->add_option(
      "--error-flow", serve.error_flow,
      "flow to run (trigger type error) when a run of a flow without settings.error_flow fails");
  serve_cmd
      ->add_option("--max-queued", serve.max_queued,
                   "above this many queued runs, webhooks and manual runs answer 429 (0: no limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve_cmd
      ->add_option(
          "--max-step-output", serve.max_step_output,
          "largest output a step may store (4MiB, 512KiB, bytes); a larger one fails the step")
      ->capture_default_str();
  serve_cmd
      ->add_option("--files", serve.files,
                   "where file values' bytes live: a folder (default: <data>/files), or "
                   "s3://bucket/prefix, a bucket every node shares (credentials from "
                   "AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION and "
                   "AWS_ENDPOINT_URL, or --files-connection); with --db postgres only a bucket "
                   "will do, and files are off without one")
      ->capture_default_str();
  serve_cmd->add_option("--files-connection", serve.files_connection,
                        "with --files s3://...: the s3 connection whose credentials, region and "
                        "endpoint reach the bucket (instead of the AWS_* environment)");
  serve_cmd
      ->add_option("--max-file-size", serve.max_file_size,
                   "largest file a step may write (5GiB, 200MiB, bytes); a larger one fails the "
                   "step")
      ->capture_default_str();
  serve_cmd
      ->add_option("--expr-timeout", serve.expr_timeout,
                   "wall time one expression evaluation may take (flows may set "
                   "settings.expression_timeout)")
      ->capture_default_str();
  serve_cmd
      ->add_option(
          "--expr-memory", serve.expr_memory,
          "memory one expression evaluation may build (64KiB to 4GiB; settings.expression_memory)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--retain-runs", serve.retain_runs,
                   "prune finished runs older than this (30d; off: keep)")
      ->capture_default_str();
  serve_cmd
      ->add_option("--retain-runs-count", serve.retain_runs_count,
                   "each flow keeps at most this many finished runs (0: no count limit)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve_cmd->add_option("--retain-failed-runs", serve.retain_failed_runs,
                        "prune failed runs older than this instead (default: as --retain-runs)");
  serve_cmd
      ->add_option("--retention-interval", serve.retention_interval,
                   "how often old runs are pruned")
      ->capture_default_str();
  // The HTTP layer: limits against slow and idle clients, threads.
  serve_cmd
      ->add_option("--max-connections", serve.max_connections,
                   "open connections at most; beyond, a new one is closed at once")
      ->check(CLI::Range(int64_t{1}, int64_t{10000000}))
      ->capture_default_str();
  serve_cmd
      ->add_option("--header-timeout", serve.header_timeout,
                   "a request head must arrive within this (10s); also the grace before "
                   "--min-body-rate applies")
      ->capture_default_str();
  serve_cmd
      ->add_option("--idle-timeout", serve.idle_timeout,
                   "close a keep-alive connection idle this long (60s)")
      ->capture_default_str();
  serve_cmd
      ->add_option(
          "--min-body-rate", serve.min_body_rate,
          "a request body slower than this many bytes/s on average is dropped (0: no minimum)")
      ->check(CLI::NonNegativeNumber)
      ->capture_default_str();
  serve_cmd
      ->add_option("--http-threads", serve.http_threads,
                   "threads doing the HTTP layer's network I/O, an event loop each; /healthz and "
                   "webhooks taken in by the SQLite journal are answered there too")
      ->check(CLI::Range(1, 64))
      ->capture_default_str();
  serve_cmd
      ->add_option("--http-workers", serve.http_workers,
                   "threads running the handlers that may wait (store calls, ?wait, event streams)")
      ->check(CLI::Range(1, 1024))
      ->capture_default_str();
  serve_cmd
      ->add_option("--metrics", serve.metrics,
                   "record metrics and serve them at GET /metrics (--metrics=false turns both off)")
      ->capture_default_str();

  // flow ...
  auto* flow_cmd = app.add_subcommand("flow", "Manage flows on a running server");
  flow_cmd->require_subcommand(1);
  std::string file;
  auto* apply_cmd = flow_cmd->add_subcommand(
      "apply", "Create or update a flow (by name) from a JSON or YAML file");
  apply_cmd->add_option("FILE", file, "flow document")->required();
  add_client_flags(apply_cmd);
  bool json = false;
  auto* list_cmd = flow_cmd->add_subcommand("list", "List flows");
  list_cmd->add_flag("--json", json, "print the API's JSON");
  add_client_flags(list_cmd);
  std::string name, input;
  bool wait = false;
  auto* run_cmd = flow_cmd->add_subcommand("run", "Start a manual run of a flow");
  run_cmd->add_option("NAME", name, "flow name")->required();
  run_cmd->add_option("--input", input, "JSON that becomes trigger.body");
  run_cmd->add_flag("--wait", wait, "wait for the run to finish and show its steps");
  run_cmd->add_flag("--json", json, "print the API's JSON");
  add_client_flags(run_cmd);

  // run show
  auto* runs_cmd = app.add_subcommand("run", "Inspect runs on a running server");
  runs_cmd->require_subcommand(1);
  std::string run_id;
  auto* show_cmd = runs_cmd->add_subcommand("show", "Show a run with its steps");
  show_cmd->add_option("ID", run_id, "run id")->required();
  show_cmd->add_flag("--json", json, "print the API's JSON");
  add_client_flags(show_cmd);

  // user ...: on the store in --data/--db, or through a server's API with --server
  weft::app::UserCommandOptions user_opts;
  std::string user_name, user_role;
  auto* user_cmd = app.add_subcommand("user", "Manage users (access control)");
  user_cmd->require_subcommand(1);
  auto add_user_flags = [&](CLI::App* cmd) {
    cmd->add_option("--data", user_opts.data_dir, "data directory (SQLite store)")
        ->capture_default_str();
    cmd->add_option("--db", user_opts.db,
                    "database URL (postgres://...); default: SQLite in --data");
    cmd->add_option("--server", user_opts.client.server,
                    "go through this running server's API instead");
    cmd->add_option("--token", client.token,
                    "API token of an admin, with --server (env WEFT_TOKEN)");
  };
  auto* user_add_cmd =
      user_cmd->add_subcommand("add", "Add a user (the password is asked for, or read from stdin)");
  user_add_cmd->add_option("NAME", user_name, "user name")->required();
  user_add_cmd->add_option("--role", user_role, "admin, editor or viewer")
      ->required()
      ->check(CLI::IsMember({"admin", "editor", "viewer"}));
  user_add_cmd->add_flag("--password-stdin", user_opts.password_stdin,
                         "read the password from stdin's first line");
  add_user_flags(user_add_cmd);
  auto* user_list_cmd = user_cmd->add_subcommand("list", "List users");
  user_list_cmd->add_flag("--json", user_opts.json, "print JSON");
  add_user_flags(user_list_cmd);
  auto* user_remove_cmd =
      user_cmd->add_subcommand("remove", "Remove a user; their sessions end at once");
  user_remove_cmd->add_option("NAME", user_name, "user name")->required();
  add_user_flags(user_remove_cmd);

  // validate
  std::string timezone = "UTC";
  auto* validate_cmd =
      app.add_subcommand("validate", "Check a flow document locally, without a server");
  validate_cmd->add_option("FILE", file, "flow document (JSON or YAML)")->required();
  validate_cmd->add_option("--timezone", timezone, "default time zone of schedules")
      ->capture_default_str();

  // connector import-openapi
  std::string spec_file, import_out;
  std::vector<std::string> import_tags, import_ops;
  std::string import_name;
  auto* connector_cmd = app.add_subcommand("connector", "Connector manifests, locally");
  connector_cmd->require_subcommand(1);
  auto* import_cmd = connector_cmd->add_subcommand(
      "import-openapi",
      "Print a connector manifest made from an OpenAPI 3.0/3.1 or Swagger 2.0 document");
  import_cmd->add_option("SPEC", spec_file, "the OpenAPI document (JSON or YAML)")->required();
  import_cmd->add_option("--tag", import_tags, "only operations with this tag (repeatable)");
  import_cmd->add_option("--operation", import_ops,
                         "only this operationId or action name (repeatable)");
  import_cmd->add_option("--name", import_name, "the connector's name ([a-z][a-z0-9_]*)");
  import_cmd->add_option("-o,--output", import_out, "write the manifest here, not to stdout");

  // cron next
  auto* cron_cmd = app.add_subcommand("cron", "Cron expressions, locally, without a server");
  cron_cmd->require_subcommand(1);
  std::string cron_expr, cron_tz = "UTC", cron_after;
  int cron_count = 5;
  auto* cron_next_cmd =
      cron_cmd->add_subcommand("next", "Print the next fire times of a cron expression");
  cron_next_cmd->add_option("EXPR", cron_expr, "5 fields, or 6 with seconds first; quote it")
      ->required();
  cron_next_cmd->add_option("--tz", cron_tz, "IANA time zone")->capture_default_str();
  cron_next_cmd->add_option("--after", cron_after,
                            "ISO-8601 instant to start after (default: now)");
  cron_next_cmd->add_option("--count", cron_count, "how many fire times (1-100)")
      ->capture_default_str();
  cron_next_cmd->add_flag("--json", json, "print {next, description} as the preview API answers");

  // backup / restore (SQLite)
  weft::app::BackupOptions backup;
  std::string backup_file, restore_data = "./weft-data", restore_key;
  auto* backup_cmd = app.add_subcommand("backup",
                                        "Copy the SQLite store to FILE, consistently, while weft "
                                        "serve runs (PostgreSQL: use pg_dump)");
  backup_cmd->add_option("FILE", backup_file, "where to write the copy")->required();
  backup_cmd->add_option("--data", backup.data_dir, "data directory of the store")
      ->capture_default_str();
  backup_cmd->add_option("--db", backup.db,
                         "database URL; a PostgreSQL URL is refused with a pointer to pg_dump");
  backup_cmd->add_flag("--force", backup.force, "replace FILE if it exists");
  auto* restore_cmd = app.add_subcommand("restore", "Make a new data dir from a backup FILE");
  restore_cmd->add_option("FILE", backup_file, "a file weft backup wrote")->required();
  restore_cmd->add_option("--data", restore_data, "data directory to create (must be new or empty)")
      ->capture_default_str();
  restore_cmd->add_option("--secret-key", restore_key,
                          "the old data dir's secret.key, copied in beside the store");

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }

  if (serve_cmd->parsed()) return weft::app::RunServe(serve, argv[0]);
  if (backup_cmd->parsed()) return weft::app::RunBackup(backup, backup_file);
  if (restore_cmd->parsed()) return weft::app::RunRestore(backup_file, restore_data, restore_key);
  if (apply_cmd->parsed()) return weft::app::FlowApply(client, file);
  if (list_cmd->parsed()) return weft::app::FlowList(client, json);
  if (run_cmd->parsed()) return weft::app::FlowRun(client, name, input, wait, json);
  if (show_cmd->parsed()) return weft::app::RunShow(client, run_id, json);
  if (validate_cmd->parsed()) return weft::app::Validate(file, timezone);
  if (import_cmd->parsed())
    return weft::app::ImportOpenApiCommand(spec_file, import_tags, import_ops, import_name,
                                           import_out);
  if (user_cmd->parsed()) {
    for (auto* cmd : {user_add_cmd, user_list_cmd, user_remove_cmd}) {
      if (cmd->parsed()) user_opts.via_server = cmd->count("--server") > 0;
    }
    user_opts.client.token = client.token;
    if (user_add_cmd->parsed()) return weft::app::UserAdd(user_opts, user_name, user_role);
    if (user_list_cmd->parsed()) return weft::app::UserList(user_opts);
    if (user_remove_cmd->parsed()) return weft::app::UserRemove(user_opts, user_name);
  }
  if (cron_next_cmd->parsed())
    return weft::app::CronNext(cron_expr, cron_tz, cron_after, cron_count, json);
  return 2;
}
