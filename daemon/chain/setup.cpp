#include "chain/setup.hpp"

#include <filesystem>
#include <random>
#include <stdexcept>
#include <vector>

#include "chain/link.hpp"
#include "db/db.hpp"
#include "memory/identity.hpp"
#include "memory/projector.hpp"
#include "store/data_dir_lock.hpp"

namespace regulars::daemon::chain {

namespace {

// The store's chain instance number (store_meta), drawn and kept on first use, as the link does.
std::int64_t instance_of(Db& db) {
  {
    Stmt s(db.raw(), "SELECT value FROM store_meta WHERE key='chain_instance'");
    if (s.step()) return s.i64(0);
  }
  const std::int64_t drawn = draw_store_instance();
  Stmt s(db.raw(), "INSERT INTO store_meta(key, value) VALUES('chain_instance', ?)");
  s.bind(1, drawn).run();
  return drawn;
}

// Puts the chain's secret in place of the store's, when the store has nobody hashed with its own.
// Whether the store holds anything keyed with its own secret: customers, events, or an erasure's
// tombstone (which, under another secret, would no longer keep an erased customer out).
bool keyed_with_its_own_secret(Db& db) {
  Stmt s(db.raw(),
         "SELECT EXISTS (SELECT 1 FROM identifiers) OR EXISTS (SELECT 1 FROM events) OR "
         "EXISTS (SELECT 1 FROM erased_identifiers) OR EXISTS (SELECT 1 FROM erased_events)");
  return s.step() && s.i64(0) != 0;
}

// Puts the chain's secret, every generation of it, in place of the store's, when nothing in the
// store is keyed with its own.
bool install_chain_secret(Db& db, const std::string& data_dir, const std::string& chain_secret_file) {
  const std::vector<IdentitySecret> chain = read_identity_secrets(chain_secret_file);
  const std::string own_path = data_dir + "/secret.key";
  std::error_code ec;
  if (std::filesystem::exists(own_path, ec) && read_identity_secrets(own_path) == chain) return false;
  if (keyed_with_its_own_secret(db))
    throw std::runtime_error("this store already holds customers, events or erasures keyed with a secret of its own, so it "
                             "cannot take the chain's; a store joins a chain before its first customer (daemon/chain/CHAIN.md)");
  write_identity_secrets(own_path, chain);
  // A chain re-keyed before has several generations, and hashes with all of them.
  Stmt g(db.raw(), "INSERT INTO store_meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value");
  g.bind(1, std::string_view(kIdentityGenerationsKey)).bind(2, static_cast<std::int64_t>(chain.size())).run();
  return true;
}

}  // namespace

JoinResult join_chain(const std::string& data_dir, const HubSettings& hub_settings, const std::string& store_id,
                      const std::optional<std::string>& chain_secret_file) {
  std::filesystem::create_directories(data_dir);
  DataDirLock lock(data_dir);
  JoinResult result;
  Db db(data_dir + "/regulars.db", Db::Mode::read_write);
  migrate(db);
  if (chain_secret_file) result.secret_installed = install_chain_secret(db, data_dir, *chain_secret_file);
  const IdentityKey key = IdentityKey::load_or_create(data_dir);
  const std::int64_t instance = instance_of(db);
  Hub hub(hub_settings);
  const HubStoreState state = hub.join(store_id, instance, secret_check(key));
  result.first_store = state.new_chain;
  result.published_seq = state.published_seq;
  result.newest_hub_id = state.newest_hub_id;
  return result;
}

std::int64_t rekey_hub(const std::string& data_dir, const HubSettings& settings) {
  const int in_use = stored_identity_generations(data_dir + "/regulars.db");
  std::vector<IdentitySecret> secrets = read_identity_secrets(data_dir + "/secret.key");
  if (in_use < 2 || static_cast<int>(secrets.size()) < in_use)
    throw std::runtime_error("the store in " + data_dir + " has not been re-keyed (key generation " + std::to_string(in_use) +
                             "); run 'regularsctl rekey' there first, with every store of the chain stopped");
  secrets.resize(static_cast<std::size_t>(in_use));
  const IdentitySecret newest = secrets.back();
  const IdentityKey now(secrets);
  const IdentityKey before(std::vector<IdentitySecret>(secrets.begin(), secrets.end() - 1));
  Hub hub(settings);
  return hub.rekey(secret_check(before), secret_check(now), [&newest](const std::string& hex) {
    const auto h = from_hex(hex);
    if (!h) throw std::runtime_error("the hub holds an identifier hash that is not 64 hex digits: its data is damaged");
    return to_hex(IdentityKey::chain(newest, *h));
  });
}

}  // namespace regulars::daemon::chain
