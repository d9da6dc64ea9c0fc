// The CLI's client commands. Each returns the process exit code and prints
// for people: results on stdout, problems on stderr.
#pragma once

#include <string>

namespace weft::app {

struct ClientOptions {
  std::string server = "http://127.0.0.1:8080";
  std::string token;
};

int FlowApply(const ClientOptions& c, const std::string& file);
int FlowList(const ClientOptions& c, bool json);
int FlowRun(const ClientOptions& c, const std::string& name, const std::string& input, bool wait,
            bool json);
int RunShow(const ClientOptions& c, const std::string& id, bool json);
// Validates locally, without a server.
int Validate(const std::string& file, const std::string& timezone);
// `weft cron next`: the next `count` fire times of a cron expression after
// `after` (ISO instant; empty: now), as the schedule preview API answers.
int CronNext(const std::string& expr, const std::string& timezone, const std::string& after,
             int count, bool json);

}  // namespace weft::app
