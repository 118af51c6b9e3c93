#include "net/monitoring_routes.hpp"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <chrono>
#include <memory>

#include "metrics/metrics.hpp"
#include "store/event_store.hpp"

namespace regulars::daemon {

namespace asio = boost::asio;
using nlohmann::json;

namespace {

// Longer than any healthy flush; shorter than a scraper's usual timeout (Prometheus: 10 s).
constexpr auto kHealthDeadline = std::chrono::seconds(2);

AdminResponse unhealthy(std::string reason) {
  return AdminResponse{503, json{{"status", "unavailable"}, {"reason", std::move(reason)}}};
}

void answer_metrics(Metrics& metrics, EventStore& store, const AdminRespond& respond) {
  metrics.set_wal_bytes(store.wal_bytes());
  respond(AdminResponse::text_answer(200, Metrics::kContentType, metrics.exposition()));
}

// Whichever comes first answers: the probe, or the deadline (AdminRespond keeps the first).
void answer_health(asio::io_context& io, EventStore& store, const AdminRespond& respond) {
  const auto started = std::chrono::steady_clock::now();
  auto deadline = std::make_shared<asio::steady_timer>(asio::make_strand(io), kHealthDeadline);
  deadline->async_wait([deadline, respond](boost::system::error_code ec) {
    if (ec) return;  // the probe answered first
    respond(unhealthy("no commit reached the disk within 2 s: the writer is busy (a rebuild, an erasure) or the disk is slow"));
  });
  // The timer lives as long as its wait; the store only holds a weak reference, so a probe
  // answered late (after the deadline) keeps nothing of the I/O context alive.
  store.check_durable([weak = std::weak_ptr<asio::steady_timer>(deadline), respond, started](const std::string& failure) {
    if (auto timer = weak.lock()) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
    if (!failure.empty()) return respond(unhealthy(failure));
    const double ms = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started).count();
    respond(AdminResponse{200, json{{"status", "ok"}, {"probe_ms", ms}}});
  });
}

}  // namespace

AdminHandler with_monitoring_routes(asio::io_context& io, Metrics& metrics, EventStore& store, AdminHandler next) {
  return [&io, &metrics, &store, next = std::move(next)](const AdminRequest& req, AdminRespond respond) {
    if (!is_monitoring_route(req.method, req.path)) return next(req, std::move(respond));
    if (req.path == "/metrics") return answer_metrics(metrics, store, respond);
    answer_health(io, store, respond);
  };
}

}  // namespace regulars::daemon
