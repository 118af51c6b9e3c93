// The admin port's monitoring routes, for integrators who watch regularsd:
//
//   GET /metrics   the Prometheus text exposition of metrics/metrics.hpp
//   GET /healthz   200 {"status": "ok", "probe_ms": ...} when a record can be made durable now,
//                  503 {"status": "unavailable", "reason": "..."} when not
//
// /healthz answers with the store's durability probe (EventStore::check_durable): one tiny
// commit through the writer, flushed by the syncer with the records around it, at most once a
// second however often it is asked; no answer within 2 s is an answer too (503).
// Who may read them is admin_http's decision (admin_access_allowed): from this machine, or with
// the metrics token, or the owner's. Neither carries customer data.
#pragma once

#include "net/admin_http.hpp"

namespace regulars::daemon {

class EventStore;
class Metrics;

// Serves the monitoring routes and hands every other request to `next` (the owner's routes).
AdminHandler with_monitoring_routes(boost::asio::io_context& io, Metrics& metrics, EventStore& store, AdminHandler next);

}  // namespace regulars::daemon
