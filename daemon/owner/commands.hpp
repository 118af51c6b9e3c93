// The owner's operations, written once: one table of commands (name, fields, who may call it,
// handler) that the till socket and the admin HTTP API both dispatch through. A handler takes
// parsed arguments and returns JSON or a typed error; it knows nothing of sessions, strands or
// HTTP, and it runs on the owner pool (owner_pool.hpp), never on an I/O thread.
#pragma once

#include <functional>
#include <nlohmann/json_fwd.hpp>
#include <span>
#include <string>
#include <string_view>
#include <variant>

#include "wire/error.hpp"

namespace regulars::daemon {

class EventStore;
class IdentityKey;
class GestureEngine;
class LaneTokens;
class DashboardSessions;
namespace chain {
class Link;
}
struct Config;

namespace owner {

// Who is asking. A till (a peer of the tills' group, or a lane over TLS) may only read the
// daemon's status; everything else is for the owner: a peer running as regularsd's own user or
// root, or whoever holds the admin token.
struct Caller {
  enum class Role { till, owner };
  Role role = Role::till;
  std::string actor;  // for the audit trail: "uid:1000", "token:tok-1a2b3c4d", "admin-token"
};

// What the handlers work with, owned by regularsd's main.
struct Services {
  EventStore& store;
  const IdentityKey& key;
  const Config& config;
  GestureEngine* gestures = nullptr;  // null: gestures are not enabled
  LaneTokens* tokens = nullptr;
  // Called after a lane token is revoked, so the transport can close the lanes using it.
  std::function<void(const std::string& token_id)> token_revoked;
  DashboardSessions* dashboard = nullptr;  // null: the dashboard is not served
  chain::Link* chain = nullptr;            // null: the store is not in a chain
};

using Result = std::variant<nlohmann::json, wire::Error>;

struct Command {
  std::string_view name;
  std::span<const std::string_view> fields;  // the arguments it accepts
  Caller::Role least_role;
  Result (*run)(Services& services, const Caller& caller, const nlohmann::json& args);
};

// Every owner command, in the order the documentation lists them.
std::span<const Command> commands();
// The command called `name`, or null.
const Command* find_command(std::string_view name);
// "audit, erase, export, ...": the names, for messages that list what is known.
std::string command_names();

// Checks who may call it and which fields `args` (an object) carries, then runs the handler.
// Exceptions become an `internal` error naming the command; the cause goes to the log only.
Result run_command(const Command& command, Services& services, const Caller& caller, const nlohmann::json& args);

class OwnerPool;

// Runs owner commands on the owner pool, for any transport.
class CommandRunner {
 public:
  CommandRunner(Services services, OwnerPool& pool) : services_(std::move(services)), pool_(pool) {}

  using Reply = std::function<void(Result)>;
  // Runs `command` for `caller` on a pool thread, which then calls `reply` with the result. When
  // the pool refuses the work (`overloaded`, `shutting_down`), `reply` is called at once, on
  // this thread. A transport posts the reply back to its connection's strand.
  void run(const Command& command, Caller caller, nlohmann::json args, Reply reply);

  Services& services() noexcept { return services_; }

 private:
  Services services_;
  OwnerPool& pool_;
};

}  // namespace owner
}  // namespace regulars::daemon
