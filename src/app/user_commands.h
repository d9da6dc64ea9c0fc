// `weft user add|list|remove`: manage users on the store in --data
// (or --db), as a newcomer does before the first `weft serve` on a network
// address; or, with --server, through a running server's API (admins' token
// in --token / WEFT_TOKEN; none needed while no user exists). Each returns the
// process exit code; problems go to stderr.
#pragma once

#include <string>

#include "app/commands.h"

namespace weft::app {

struct UserCommandOptions {
  std::string data_dir = "./weft-data";
  std::string db;           // postgres://...; empty: SQLite in data_dir
  bool via_server = false;  // --server given: go through the API
  ClientOptions client;
  bool password_stdin = false;  // read the password from stdin's first line
  bool json = false;
};

int UserAdd(const UserCommandOptions& o, const std::string& name, const std::string& role);
int UserList(const UserCommandOptions& o);
int UserRemove(const UserCommandOptions& o, const std::string& name);

}  // namespace weft::app
