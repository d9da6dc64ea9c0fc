#include "app/user_commands.h"

#include <termios.h>
#include <unistd.h>

#include <iostream>
#include <memory>

#include "app/client.h"
#include "common/clock.h"
#include "common/time_format.h"
#include "core/auth_service.h"
#include "store/postgres/postgres_store.h"
#include "store/sqlite/sqlite_store.h"

namespace weft::app {
namespace {

int Problem(const std::string& message) {
  std::cerr << "weft: " << message << "\n";
  return 1;
}

std::string Pad(std::string s, size_t width) {
  if (s.size() < width) s.append(width - s.size(), ' ');
  return s;
}

Result<std::unique_ptr<Store>> OpenStore(const UserCommandOptions& o, Clock& clock) {
  if (!o.db.empty()) {
    PostgresOptions pg;
    pg.url = o.db;
    pg.clock = &clock;
    pg.pool_size = 2;
    auto opened = PostgresStore::Open(pg);
    if (!opened) return Fail(opened.error());
    return std::unique_ptr<Store>(std::move(*opened));
  }
  SqliteOptions options;
  options.data_dir = o.data_dir;
  options.clock = &clock;
  auto opened = SqliteStore::Open(options);
  if (!opened) {
    Error e = opened.error();
    if (e.message.find("in use") != std::string::npos) {
      e.message +=
          "; stop it first, or go through its API: add --server URL (and --token, or WEFT_TOKEN)";
    }
    return Fail(std::move(e));
  }
  return std::unique_ptr<Store>(std::move(*opened));
}

// Reads a line without echo from the terminal.
std::string ReadHidden(const std::string& prompt) {
  std::cerr << prompt << std::flush;
  termios old{};
  bool tty = tcgetattr(STDIN_FILENO, &old) == 0;
  if (tty) {
    termios quiet = old;
    quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
    tcsetattr(STDIN_FILENO, TCSANOW, &quiet);
  }
  std::string line;
  std::getline(std::cin, line);
  if (tty) tcsetattr(STDIN_FILENO, TCSANOW, &old);
  std::cerr << "\n";
  return line;
}

Result<std::string> ReadPassword(const UserCommandOptions& o) {
  if (o.password_stdin) {
    std::string line;
    if (!std::getline(std::cin, line))
      return Fail(ErrorCode::kBadRequest, "--password-stdin: stdin is empty");
    while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.pop_back();
    return line;
  }
  if (!isatty(STDIN_FILENO)) {
    return Fail(ErrorCode::kBadRequest,
                "no terminal to ask for the password: pipe it in with --password-stdin");
  }
  std::string first = ReadHidden("Password: ");
  std::string again = ReadHidden("Password again: ");
  if (first != again) return Fail(ErrorCode::kBadRequest, "the two passwords differ");
  return first;
}

void PrintProblems(const Error& e) {
  std::cerr << "weft: " << e.message << "\n";
  for (const auto& d : e.details) std::cerr << "  " << d.path << ": " << d.message << "\n";
}

}  // namespace

int UserAdd(const UserCommandOptions& o, const std::string& name, const std::string& role_name) {
  auto role = ParseRole(role_name);
  if (!role) return Problem("--role must be admin, editor or viewer");
  auto password = ReadPassword(o);
  if (!password) return Problem(password.error().message);
  if (o.via_server) {
    ApiClient api(o.client.server, o.client.token);
    Json body{{"username", name}, {"password", *password}, {"role", role_name}};
    auto r = api.Call("POST", "/api/v1/users", body.dump());
    if (!r) return Problem(r.error().message);
    if (r->status != 201) return Problem(DescribeError(*r));
    std::cout << "added user " << name << " (" << role_name << ")\n";
    return 0;
  }
  SystemClock clock;
  auto store = OpenStore(o, clock);
  if (!store) return Problem(store.error().message);
  AuthService auth(**store, clock);
  auto user = auth.AddUser(name, *password, *role);
  if (!user) {
    PrintProblems(user.error());
    return 1;
  }
  std::cout << "added user " << user->username << " (" << RoleName(user->role) << ")\n";
  return 0;
}

int UserList(const UserCommandOptions& o) {
  Json users = Json::array();
  if (o.via_server) {
    ApiClient api(o.client.server, o.client.token);
    auto r = api.Call("GET", "/api/v1/users");
    if (!r) return Problem(r.error().message);
    if (r->status != 200) return Problem(DescribeError(*r));
    users = r->json["users"];
  } else {
    SystemClock clock;
    auto store = OpenStore(o, clock);
    if (!store) return Problem(store.error().message);
    auto list = (*store)->ListUsers();
    if (!list) return Problem(list.error().message);
    for (const auto& u : *list) {
      users.push_back(Json{{"id", u.id},
                           {"username", u.username},
                           {"role", std::string(RoleName(u.role))},
                           {"created_at", FormatIso(u.created_at)}});
    }
  }
  if (o.json) {
    std::cout << Json{{"users", users}}.dump(2) << "\n";
    return 0;
  }
  if (users.empty()) {
    std::cout << "no users: weft serves this machine only and asks for no sign-in\n";
    return 0;
  }
  std::cout << Pad("USERNAME", 24) << Pad("ROLE", 8) << "CREATED\n";
  for (const auto& u : users) {
    std::cout << Pad(GetString(u, "username"), 24) << Pad(GetString(u, "role"), 8)
              << GetString(u, "created_at") << "\n";
  }
  return 0;
}

int UserRemove(const UserCommandOptions& o, const std::string& name) {
  if (o.via_server) {
    ApiClient api(o.client.server, o.client.token);
    auto r = api.Call("GET", "/api/v1/users");
    if (!r) return Problem(r.error().message);
    if (r->status != 200) return Problem(DescribeError(*r));
    std::string id;
    for (const auto& u : r->json["users"]) {
      if (GetString(u, "username") == name) id = GetString(u, "id");
    }
    if (id.empty()) return Problem("no user named \"" + name + "\"");
    auto d = api.Call("DELETE", "/api/v1/users/" + id);
    if (!d) return Problem(d.error().message);
    if (d->status != 204) return Problem(DescribeError(*d));
    std::cout << "removed user " << name << "\n";
    return 0;
  }
  SystemClock clock;
  auto store = OpenStore(o, clock);
  if (!store) return Problem(store.error().message);
  AuthService auth(**store, clock);
  auto gone = auth.RemoveUser(name);
  if (!gone) return Problem(gone.error().message);
  std::cout << "removed user " << gone->username << "\n";
  auto left = (*store)->ListUsers();
  if (left && left->empty()) {
    std::cout << "no users left: weft now serves this machine only and asks for no sign-in\n";
  }
  return 0;
}

}  // namespace weft::app
