// The PostgreSQL schema migrations, embedded at build time from
// src/store/migrations/postgres/NNNN_name.sql (see CMakeLists.txt). Immutable data.
#pragma once

#include <span>

namespace weft::postgres {

struct Migration {
  int version;       // NNNN of the file name
  const char* name;  // the file name without .sql
  const char* sql;
};

// In ascending version order.
std::span<const Migration> Migrations();

}  // namespace weft::postgres
