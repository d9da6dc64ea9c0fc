// The only file that includes Beast: asynchronous HTTP/1.1 with Asio C++20
// coroutines. Each connection is one coroutine on a strand of its own; one
// fixed pool of io_threads + workers threads runs them all. Blocking work (a
// handler) runs inline, but at most `workers` threads are in it at once, so
// io_threads are always free for the network (see Blocking). Every read and
// write has a deadline (tcp_stream's timer): the head, the idle keep-alive
// gap, the body (by a minimum rate), each write.
#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// clang-format off
#include <atomic>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <chrono>
#include <condition_variable>
#include <deque>
#include <limits>
#include <mutex>
#include <thread>
#include <unordered_set>
#include <vector>

#include "common/log.h"

namespace weft::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using Clock = std::chrono::steady_clock;

constexpr size_t kMaxDiscard = 1ull << 30;  // bytes read and dropped after an early answer
constexpr auto kDiscardGap = std::chrono::seconds(2);  // ... while the client keeps sending
// A pending answer is asked again no sooner than this after its last call,
// however often the server is woken.
constexpr auto kMinPollGap = std::chrono::milliseconds(20);

// One connection. Everything but `wake_posted` is touched only on `stream`'s
// strand.
struct Conn {
  explicit Conn(tcp::socket sock)
      : stream(std::move(sock)), wake(stream.get_executor()), place(stream.get_executor()) {}
  beast::tcp_stream stream;
  std::weak_ptr<Conn> self;
  net::steady_timer wake;   // a pending answer waits on it; Wake() cancels it
  net::steady_timer place;  // waits for a place to run blocking work (see Blocking)
  bool busy = false;        // a request is being served (Stop leaves it to finish)
  bool woken = false;       // woken while not waiting: poll again at once
  std::atomic<bool> wake_posted{false};
};

auto Redirect(beast::error_code& ec) { return net::redirect_error(net::use_awaitable, ec); }

std::string ErrorBody(const char* code, const std::string& message) {
  return std::string(R"({"error":{"code":")") + code + R"(","message":")" + message + R"("}})";
}

HttpResponse JsonError(int status, const char* code, const std::string& message) {
  return HttpResponse::Text(status, ErrorBody(code, message), "application/json");
}

class BeastHttpServer : public HttpServer {
 public:
  BeastHttpServer(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)),
        handler_(std::move(handler)),
        acceptor_(net::make_strand(ioc_)),
        work_(net::make_work_guard(ioc_)) {}
  ~BeastHttpServer() override { Stop(); }

  Result<void> Bind() {
    std::string host;
    std::string port_text;
    const std::string& listen = options_.listen;
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos)
      return Fail(ErrorCode::kBadRequest, "listen address \"" + listen + "\" is not host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    if (host.empty()) host = "0.0.0.0";
    if (host == "localhost") host = "127.0.0.1";
    unsigned long port = 0;
    try {
      size_t used = 0;
      port = std::stoul(port_text, &used);
      if (used != port_text.size() || port > 65535) throw std::out_of_range("port");
    } catch (const std::exception&) {
      return Fail(ErrorCode::kBadRequest, "listen address \"" + listen + "\" has a bad port");
    }
    beast::error_code ec;
    auto address = net::ip::make_address(host, ec);
    if (ec)
      return Fail(ErrorCode::kBadRequest,
                  "listen address \"" + listen + "\": \"" + host + "\" is not an IP address");
    tcp::endpoint ep(address, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Fail(ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
    address_ = FormatAddress(acceptor_.local_endpoint(ec));
    return Ok();
  }

  std::string address() const override { return address_; }

  void Start() override {
    net::co_spawn(acceptor_.get_executor(), AcceptLoop(), net::detached);
    int n = std::max(1, options_.io_threads) + std::max(1, options_.workers);
    for (int i = 0; i < n; ++i) io_threads_.emplace_back([this] { ioc_.run(); });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    net::post(acceptor_.get_executor(), [this] {
      beast::error_code ec;
      acceptor_.close(ec);
    });
    std::unique_lock lock(mu_);
    // Idle connections (between requests, or still reading a head) close
    // now; the others finish their request, pending answers are asked once
    // more with `last`/`stopping` set.
    for (const auto& c : conns_) {
      net::post(c->stream.get_executor(), [c] {
        c->woken = true;
        c->wake.cancel();
        if (!c->busy) Shut(*c);
      });
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(15), [this] { return conns_.empty(); })) {
      for (const auto& c : conns_) net::post(c->stream.get_executor(), [c] { Shut(*c); });
      cv_.wait(lock, [this] { return conns_.empty(); });
    }
    lock.unlock();
    work_.reset();
    ioc_.stop();
    for (auto& t : io_threads_) t.join();
    io_threads_.clear();
  }

  void Wake() override {
    std::lock_guard lock(mu_);
    for (const auto& c : pollers_) {
      if (c->wake_posted.exchange(true)) continue;
      net::post(c->stream.get_executor(), [c] {
        c->wake_posted = false;
        c->woken = true;
        c->wake.cancel();
      });
    }
  }

  size_t open_connections() const override {
    std::lock_guard lock(mu_);
    return conns_.size();
  }

 private:
  static std::string FormatAddress(const tcp::endpoint& ep) {
    if (ep.address().is_v6())
      return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  static void Shut(Conn& c) {
    beast::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ec);
    c.stream.cancel();
  }

  // Runs blocking work (a handler, on_head, a `stream` or `later` call)
  // inline, on this I/O thread, once fewer than `workers` threads are in such
  // work: the pool has io_threads + workers threads, so io_threads of them
  // are always free for the network. Without a free place the coroutine
  // waits for one holding no thread. Inline, a request costs one wake-up,
  // as it did with a thread per connection. An exception from `fn` becomes
  // `on_error()`.
  template <typename T, typename Fn, typename OnError>
  net::awaitable<T> Blocking(Conn& c, Fn fn, OnError on_error) {
    const int places = std::max(1, options_.workers);
    for (;;) {
      int now = in_work_.load();
      if (now < places) {
        if (in_work_.compare_exchange_weak(now, now + 1)) break;
        continue;
      }
      {
        std::lock_guard lock(mu_);
        waiting_for_place_.push_back(c.self.lock());
      }
      if (in_work_.load() < places) continue;
      // Woken when a place frees; the short expiry covers a wake-up that
      // went to an entry already served.
      beast::error_code ec;
      c.place.expires_after(std::chrono::milliseconds(50));
      co_await c.place.async_wait(Redirect(ec));
    }
    std::optional<T> result;
    try {
      result.emplace(fn());
    } catch (const std::exception& e) {
      log::Error("unexpected exception in an HTTP handler", {{"what", e.what()}});
      result.emplace(on_error());
    }
    in_work_.fetch_sub(1);
    std::shared_ptr<Conn> next;
    {
      std::lock_guard lock(mu_);
      while (!next && !waiting_for_place_.empty()) {
        next = waiting_for_place_.front().lock();
        waiting_for_place_.pop_front();
      }
    }
    if (next) net::post(next->stream.get_executor(), [next] { next->place.cancel(); });
    co_return std::move(*result);
  }

  net::awaitable<void> AcceptLoop() {
    net::steady_timer backoff(acceptor_.get_executor());
    for (;;) {
      beast::error_code ec;
      tcp::socket sock = co_await acceptor_.async_accept(net::make_strand(ioc_), Redirect(ec));
      if (stopping_ || ec == net::error::operation_aborted) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        backoff.expires_after(std::chrono::milliseconds(10));
        co_await backoff.async_wait(Redirect(ec));
        continue;
      }
      auto conn = std::make_shared<Conn>(std::move(sock));
      conn->self = conn;
      {
        std::lock_guard lock(mu_);
        if (conns_.size() >= options_.max_connections) {
          // A clean close: FIN, not a reset, and nothing else.
          conn->stream.socket().shutdown(tcp::socket::shutdown_both, ec);
          conn->stream.socket().close(ec);
          continue;
        }
        conns_.insert(conn);
      }
      net::co_spawn(conn->stream.get_executor(), Session(conn), net::detached);
    }
  }

  // Forgets the connection when the session ends, however it ends.
  struct Unregister {
    BeastHttpServer* server;
    std::shared_ptr<Conn> conn;
    ~Unregister() {
      beast::error_code ec;
      conn->stream.socket().close(ec);
      std::lock_guard lock(server->mu_);
      server->pollers_.erase(conn);
      server->conns_.erase(conn);
      server->cv_.notify_all();
    }
  };

  net::awaitable<bool> WriteSimple(Conn& c, unsigned version, int status, std::string body,
                                   bool keep_alive) {
    http::response<http::string_body> res{http::status::ok, version};
    res.result(static_cast<unsigned>(status));
    res.set(http::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = std::move(body);
    res.prepare_payload();
    beast::error_code ec;
    c.stream.expires_after(options_.write_timeout);
    co_await http::async_write(c.stream, res, Redirect(ec));
    co_return !ec;
  }

  // Reads and drops up to `n` bytes so the client, still sending, sees our
  // answer; stops when it pauses for kDiscardGap, or falls below the body
  // rate (a trickle must not keep the connection for ever).
  net::awaitable<void> Discard(Conn& c, size_t n) {
    std::vector<char> buf(16384);
    auto started = Clock::now();
    size_t dropped = 0;
    while (n > 0) {
      beast::error_code ec;
      auto until = Clock::now() + kDiscardGap;
      if (options_.min_body_rate > 0) {
        until =
            std::min(until, started + options_.body_grace +
                                std::chrono::milliseconds(dropped * 1000 / options_.min_body_rate));
      }
      c.stream.expires_at(until);
      size_t got = co_await c.stream.async_read_some(
          net::buffer(buf.data(), std::min(n, buf.size())), Redirect(ec));
      if (ec || got == 0) co_return;
      n -= got;
      dropped += got;
    }
  }

  // After an error answer: no more to send; read and drop what the client
  // still sends until it closes, so it reads the answer rather than a reset.
  net::awaitable<void> Linger(Conn& c) {
    beast::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    co_await Discard(c, 1u << 20);
  }

  // Waits until woken or `for_at_most` has passed; never polls again sooner
  // than kMinPollGap after `last_poll`.
  net::awaitable<void> WaitForWake(Conn& c, Clock::duration for_at_most,
                                   Clock::time_point last_poll) {
    beast::error_code ec;
    if (!c.woken) {
      c.wake.expires_after(for_at_most);
      co_await c.wake.async_wait(Redirect(ec));
    }
    c.woken = false;
    auto earliest = last_poll + kMinPollGap;
    if (Clock::now() < earliest && !stopping_) {
      c.wake.expires_at(earliest);
      co_await c.wake.async_wait(Redirect(ec));
      c.woken = false;
    }
  }

  void SetPolling(const std::shared_ptr<Conn>& c, bool on) {
    std::lock_guard lock(mu_);
    if (on)
      pollers_.insert(c);
    else
      pollers_.erase(c);
  }

  // Resolves a `later` answer: asks it until it answers.
  net::awaitable<HttpResponse> AwaitLater(const std::shared_ptr<Conn>& c, HttpResponse pending) {
    SetPolling(c, true);
    std::optional<HttpResponse> answer;
    for (;;) {
      bool last = stopping_ || Clock::now() >= pending.deadline;
      auto asked = Clock::now();
      answer = co_await Blocking<std::optional<HttpResponse>>(
          *c, [&pending, last] { return pending.later(last); },
          [] { return std::optional<HttpResponse>(JsonError(500, "internal", "internal error")); });
      if (answer || last) break;
      auto left = pending.deadline - Clock::now();
      Clock::duration wait = std::min<Clock::duration>(pending.poll_every, left);
      co_await WaitForWake(*c, std::max<Clock::duration>(wait, Clock::duration::zero()), asked);
    }
    SetPolling(c, false);
    if (!answer) co_return JsonError(503, "unavailable", "no answer");
    answer->later = nullptr;  // an answer that is itself pending is not supported
    co_return std::move(*answer);
  }

  // Sends a streamed body chunk by chunk, asking `stream` for each.
  // Returns false when the connection failed.
  net::awaitable<bool> SendStream(const std::shared_ptr<Conn>& c, HttpResponse& out,
                                  unsigned version, bool keep_alive) {
    beast::error_code ec;
    http::response<http::empty_body> res{http::status::ok, version};
    res.result(static_cast<unsigned>(out.status));
    res.set(http::field::content_type, out.content_type);
    for (const auto& [k, v] : out.headers) res.insert(k, v);
    res.keep_alive(keep_alive);
    const bool sized = out.content_length.has_value();
    if (sized)
      res.content_length(*out.content_length);
    else
      res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    c->stream.expires_after(options_.write_timeout);
    co_await http::async_write_header(c->stream, sr, Redirect(ec));
    if (ec) co_return false;
    SetPolling(c, true);
    bool ok = true;
    uint64_t sent = 0;
    for (;;) {
      bool stopping = stopping_;
      auto asked = Clock::now();
      std::pair<std::string, bool> got = co_await Blocking<std::pair<std::string, bool>>(
          *c,
          [&out, stopping] {
            std::string piece;
            bool more = out.stream(piece, stopping);
            return std::make_pair(std::move(piece), more);
          },
          [] { return std::make_pair(std::string(), false); });
      if (!got.first.empty()) {
        c->stream.expires_after(options_.write_timeout);
        if (sized)
          co_await net::async_write(c->stream, net::buffer(got.first), Redirect(ec));
        else
          co_await net::async_write(c->stream, http::make_chunk(net::buffer(got.first)),
                                    Redirect(ec));
        if (ec) {
          ok = false;
          break;
        }
        sent += got.first.size();
      }
      if (!got.second || stopping) break;
      if (!sized) co_await WaitForWake(*c, out.poll_every, asked);
    }
    SetPolling(c, false);
    if (!ok) co_return false;
    // A sized body cut short (the file went away) cannot end cleanly: close.
    if (sized) co_return sent == *out.content_length;
    c->stream.expires_after(options_.write_timeout);
    co_await net::async_write(c->stream, http::make_chunk_last(), Redirect(ec));
    co_return !ec;
  }

  net::awaitable<void> Session(std::shared_ptr<Conn> c) {
    Unregister unregister{this, c};
    beast::error_code ec;
    c->stream.socket().set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto rep = c->stream.socket().remote_endpoint(ec);
    if (!ec) remote = rep.address().to_string();
    beast::flat_buffer buffer;
    bool first = true;
    while (!stopping_) {
      // Between requests: wait for the next one's first byte, for idle_timeout.
      if (!first && buffer.size() == 0) {
        c->stream.expires_after(options_.idle_timeout);
        size_t n = co_await c->stream.async_read_some(buffer.prepare(4096), Redirect(ec));
        if (ec) co_return;
        buffer.commit(n);
      }
      first = false;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      // The limit is set once the head is read (it may depend on it); a
      // Content-Length over a limit set now would fail read_header itself.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      c->stream.expires_after(options_.header_timeout);
      co_await http::async_read_header(c->stream, buffer, parser, Redirect(ec));
      if (ec) {
        // A timeout has closed the socket already; say nothing then.
        if (ec == http::error::header_limit) {
          if (co_await WriteSimple(*c, 11, 431,
                                   ErrorBody("bad_request", "request headers too large"), false))
            co_await Linger(*c);
        } else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                   ec != beast::error::timeout && ec != net::error::operation_aborted &&
                   !stopping_ && buffer.size() > 0) {
          if (co_await WriteSimple(*c, 11, 400, ErrorBody("bad_request", "malformed HTTP request"),
                                   false))
            co_await Linger(*c);
        }
        co_return;
      }
      c->busy = true;
      auto& head = parser.get();
      unsigned version = head.version();
      size_t fields = static_cast<size_t>(std::distance(head.begin(), head.end()));
      if (fields > options_.max_header_fields) {
        if (co_await WriteSimple(*c, version, 431,
                                 ErrorBody("bad_request", "too many request headers"), false))
          co_await Linger(*c);
        co_return;
      }
      // The request as handlers see it, from the head; the body comes later.
      HttpRequest req;
      req.method = std::string(head.method_string());
      req.target = std::string(head.target());
      size_t q = req.target.find('?');
      req.path = UrlDecode(std::string_view(req.target).substr(0, q), false);
      if (q != std::string::npos) req.query_string = req.target.substr(q + 1);
      req.headers.reserve(fields);
      for (const auto& field : head) {
        std::string name(field.name_string());
        for (char& ch : name) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
        req.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      req.remote_address = remote;
      size_t body_limit = options_.max_body;
      if (options_.on_head && req.path.starts_with(options_.on_head_prefix)) {
        auto early = co_await Blocking<std::optional<HttpResponse>>(
            *c, [this, &req, &body_limit] { return options_.on_head(req, body_limit); },
            [] { return std::optional<HttpResponse>(); });
        if (early) {
          // Answered from the head (webhook 404/405/413): drop what the client still sends.
          http::response<http::string_body> res{http::status::ok, version};
          res.result(static_cast<unsigned>(early->status));
          if (!early->content_type.empty()) res.set(http::field::content_type, early->content_type);
          for (const auto& [k, v] : early->headers) res.insert(k, v);
          res.keep_alive(false);
          res.body() = std::move(early->body);
          res.prepare_payload();
          c->stream.expires_after(options_.write_timeout);
          co_await http::async_write(c->stream, res, Redirect(ec));
          if (ec) co_return;
          if (parser.content_length()) {
            size_t cl = static_cast<size_t>(*parser.content_length());
            size_t buffered = buffer.size();
            if (cl > buffered) co_await Discard(*c, std::min(cl - buffered, kMaxDiscard));
          }
          co_return;
        }
        req.params.clear();
      }
      parser.body_limit(body_limit);
      if (parser.content_length() && *parser.content_length() > body_limit) {
        size_t cl = static_cast<size_t>(*parser.content_length());
        co_await WriteSimple(
            *c, version, 413,
            ErrorBody("payload_too_large",
                      "the request body is larger than " + std::to_string(body_limit) + " bytes"),
            false);
        size_t buffered = buffer.size();
        if (cl > buffered) co_await Discard(*c, std::min(cl - buffered, kMaxDiscard));
        co_return;
      }
      if (beast::iequals(head[http::field::expect], "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, version};
        c->stream.expires_after(options_.write_timeout);
        co_await http::async_write(c->stream, cont, Redirect(ec));
        if (ec) co_return;
      }
      // The body: `body_grace`, plus a second per `min_body_rate` bytes.
      auto body_started = Clock::now();
      size_t received = 0;
      while (!parser.is_done()) {
        auto allowed = options_.body_grace;
        if (options_.min_body_rate > 0) {
          c->stream.expires_at(body_started + allowed +
                               std::chrono::milliseconds(received * 1000 / options_.min_body_rate));
        } else {
          c->stream.expires_never();
        }
        received += co_await http::async_read_some(c->stream, buffer, parser, Redirect(ec));
        if (ec) break;
      }
      if (ec) {
        if (ec == http::error::body_limit)
          co_await WriteSimple(*c, version, 413,
                               ErrorBody("payload_too_large", "the request body is too large"),
                               false);
        else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                 ec != beast::error::timeout && ec != net::error::operation_aborted)
          co_await WriteSimple(*c, version, 400,
                               ErrorBody("bad_request", "malformed HTTP request body"), false);
        co_return;
      }
      c->stream.expires_never();
      auto msg = parser.release();
      req.body = std::move(msg.body());
      bool keep_alive = msg.keep_alive();
      bool is_head = req.method == "HEAD";

      HttpResponse out = co_await Blocking<HttpResponse>(
          *c, [this, &req] { return handler_(req); },
          [] { return JsonError(500, "internal", "internal error"); });
      if (out.later) out = co_await AwaitLater(c, std::move(out));
      keep_alive = keep_alive && !out.close && !stopping_;

      if (out.stream) {
        if (!co_await SendStream(c, out, version, keep_alive)) co_return;
      } else {
        http::response<http::string_body> res{http::status::ok, version};
        res.result(static_cast<unsigned>(out.status));
        if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
        for (const auto& [k, v] : out.headers) res.insert(k, v);
        res.keep_alive(keep_alive);
        res.body() = std::move(out.body);
        res.prepare_payload();
        c->stream.expires_after(options_.write_timeout);
        if (is_head) {
          http::response_serializer<http::string_body> sr{res};
          co_await http::async_write_header(c->stream, sr, Redirect(ec));
        } else {
          co_await http::async_write(c->stream, res, Redirect(ec));
        }
        if (ec) co_return;
      }
      c->busy = false;
      if (!keep_alive) {
        c->stream.socket().shutdown(tcp::socket::shutdown_send, ec);
        co_return;
      }
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  std::string address_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  // Declared before the io_context: a session destroyed with it still
  // unregisters here.
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::unordered_set<std::shared_ptr<Conn>> conns_;
  std::unordered_set<std::shared_ptr<Conn>> pollers_;  // waiting on a `stream` or `later`
  std::atomic<int> in_work_{0};  // threads in blocking work now (see Blocking)
  std::deque<std::weak_ptr<Conn>> waiting_for_place_;  // under mu_
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  net::executor_work_guard<net::io_context::executor_type> work_;
  std::vector<std::thread> io_threads_;
};

// As many open files as allowed: each connection is one.
void RaiseOpenFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(HttpServerOptions options,
                                                       HttpHandler handler) {
  RaiseOpenFileLimit();
  auto server = std::make_unique<BeastHttpServer>(std::move(options), std::move(handler));
  auto bound = server->Bind();
  if (!bound) return Fail(std::move(bound).error());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace weft::server
