// The only file that includes Beast: asynchronous HTTP/1.1 with Asio C++20
// coroutines. Each of `io_threads` threads runs an io_context of its own (no
// scheduler shared between threads, no strands: a connection lives on one
// thread); the acceptor hands connections to them in turn. A request whose
// handling never waits (HttpServerOptions::runs_inline: /healthz, webhooks the
// store takes in by a file append) is served on the thread that read it, as
// with a thread per connection; any other handler, on_head call and `stream`
// or `later` call runs on one of `workers` threads, and the connection's
// coroutine resumes on its I/O thread afterwards. Deadlines (the head, the
// idle keep-alive gap, the body by a minimum rate, each write) are a time
// stored per connection, set once per phase with no timer armed; each I/O
// thread sweeps its connections a few times a second and closes those past
// their deadline.
#include "server/http_server.h"

#include <sys/resource.h>
#include <sys/socket.h>

// Boost 1.74's awaitable.hpp uses std::exchange without including <utility>.
#include <utility>
// Boost 1.74 turns co_await on for clang only with the Coroutines TS
// (__cpp_coroutines and <experimental/coroutine>, which libstdc++ lacks);
// clang 14 in C++20 mode has the standard coroutines of <coroutine>, which
// Boost already uses with gcc (BOOST_ASIO_HAS_STD_COROUTINE). Needed by the
// clang sanitizer and fuzzing builds.
#if defined(__clang__) && defined(__cpp_impl_coroutine) && !defined(BOOST_ASIO_HAS_CO_AWAIT)
#define BOOST_ASIO_HAS_CO_AWAIT 1
#endif
// clang-format off
#include <array>
#include <atomic>
#include <boost/asio/async_result.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
// clang-format on
#include <chrono>
#include <condition_variable>
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

// Everything runs on io_context executors named by type: no polymorphic
// executor, no strand.
using Executor = net::io_context::executor_type;
using Socket = net::basic_stream_socket<tcp, Executor>;
using Acceptor = net::basic_socket_acceptor<tcp, Executor>;
using Timer = net::basic_waitable_timer<Clock, net::wait_traits<Clock>, Executor>;
template <typename T>
using Task = net::awaitable<T, Executor>;
constexpr net::use_awaitable_t<Executor> kUseTask;

constexpr size_t kMaxDiscard = 1ull << 30;  // bytes read and dropped after an early answer
constexpr auto kDiscardGap = std::chrono::seconds(2);  // ... while the client keeps sending
// A pending answer is asked again no sooner than this after its last call,
// however often the server is woken.
constexpr auto kMinPollGap = std::chrono::milliseconds(20);
constexpr auto kNoDeadline = Clock::time_point::max();

struct Conn;

// One I/O thread: its io_context and the connections it serves. `conns` and
// `pollers` are touched only on that thread.
struct Loop {
  Loop() : ioc(1), work(ioc.get_executor()) {}
  net::io_context ioc;
  net::executor_work_guard<Executor> work;
  std::vector<Conn*> conns;
  std::unordered_set<Conn*> pollers;  // waiting on a `stream` or `later`
  std::atomic<size_t> polling{0};     // pollers.size(), for Wake() from other threads
  std::atomic<bool> wake_posted{false};
  std::thread thread;
};

// One connection, touched only on its loop's thread.
struct Conn {
  Conn(Socket sock_in, Loop& loop_in)
      : sock(std::move(sock_in)), loop(loop_in), wake(sock.get_executor()) {}
  Socket sock;
  Loop& loop;
  size_t slot = 0;  // index in loop.conns
  // The I/O under way must end by then; the loop's sweep closes the socket
  // when it has not.
  Clock::time_point deadline = kNoDeadline;
  bool timed_out = false;  // closed by the sweep
  Timer wake;              // a pending answer waits on it; Wake() cancels it
  bool busy = false;       // a request is being served (Stop leaves it to finish)
  bool woken = false;      // woken while not waiting: poll again at once
};

auto Redirect(beast::error_code& ec) { return net::redirect_error(kUseTask, ec); }

std::string ErrorBody(const char* code, const std::string& message) {
  return std::string(R"({"error":{"code":")") + code + R"(","message":")" + message + R"("}})";
}

HttpResponse JsonError(int status, const char* code, const std::string& message) {
  return HttpResponse::Text(status, ErrorBody(code, message), "application/json");
}

bool IEquals(std::string_view a, std::string_view b) { return beast::iequals(a, b); }

// The head of `r` as Beast would write it for a body of `length` bytes
// (Content-Length except for 1xx, 204 and 304; Connection as `keep_alive`
// needs it for the request's version), into `out` (its storage reused).
void FormatHead(std::string& out, unsigned version, const HttpResponse& r, size_t length,
                bool keep_alive) {
  out.clear();
  out += version == 10 ? "HTTP/1.0 " : "HTTP/1.1 ";
  out += std::to_string(r.status);
  out += ' ';
  beast::string_view reason = http::obsolete_reason(http::int_to_status(r.status));
  out.append(reason.data(), reason.size());
  out += "\r\n";
  if (!r.content_type.empty()) {
    out += "Content-Type: ";
    out += r.content_type;
    out += "\r\n";
  }
  for (const auto& [k, v] : r.headers) {
    if (IEquals(k, "Content-Length") || IEquals(k, "Connection")) continue;
    out += k;
    out += ": ";
    out += v;
    out += "\r\n";
  }
  if (version == 10 && keep_alive) out += "Connection: keep-alive\r\n";
  if (version != 10 && !keep_alive) out += "Connection: close\r\n";
  bool no_body = (r.status >= 100 && r.status < 200) || r.status == 204 || r.status == 304;
  if (!no_body || length > 0) {
    out += "Content-Length: ";
    out += std::to_string(length);
    out += "\r\n";
  }
  out += "\r\n";
}

template <typename T, typename Fn, typename OnError>
T Guarded(Fn& fn, OnError& on_error) {
  try {
    return fn();
  } catch (const std::exception& e) {
    log::Error("unexpected exception in an HTTP handler", {{"what", e.what()}});
    return on_error();
  }
}

// The request as handlers see it, from its head (`fields` of them); the body comes later.
HttpRequest RequestFromHead(const http::request<http::string_body>& head, size_t fields) {
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
  return req;
}

class BeastHttpServer : public HttpServer {
 public:
  BeastHttpServer(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)) {
    int n = std::max(1, options_.io_threads);
    for (int i = 0; i < n; ++i) loops_.push_back(std::make_unique<Loop>());
    acceptor_.emplace(loops_[0]->ioc);
    // Deadlines are checked a few times per shortest timeout: closing a
    // connection up to a tenth of its timeout late costs nothing.
    auto shortest = std::min({options_.header_timeout, options_.idle_timeout, options_.body_grace,
                              options_.write_timeout});
    sweep_every_ = std::clamp<std::chrono::milliseconds>(
        shortest / 10, std::chrono::milliseconds(5), std::chrono::milliseconds(250));
  }
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
    acceptor_->open(ep.protocol(), ec);
    if (!ec) acceptor_->set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_->bind(ep, ec);
    if (!ec) acceptor_->listen(net::socket_base::max_listen_connections, ec);
    if (ec)
      return Fail(ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
    address_ = FormatAddress(acceptor_->local_endpoint(ec));
    return Ok();
  }

  std::string address() const override { return address_; }

  void Start() override {
    workers_ = std::make_unique<net::thread_pool>(std::max(1, options_.workers));
    net::co_spawn(loops_[0]->ioc, AcceptLoop(), net::detached);
    for (auto& l : loops_) {
      net::co_spawn(l->ioc, Sweep(*l), net::detached);
      l->thread = std::thread([l = l.get()] { l->ioc.run(); });
    }
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    net::post(loops_[0]->ioc, [this] {
      beast::error_code ec;
      acceptor_->close(ec);
    });
    // Idle connections (between requests, or still reading a head) close
    // now; the others finish their request, pending answers are asked once
    // more with `last`/`stopping` set.
    ForEachConn([](Conn& c) {
      c.woken = true;
      c.wake.cancel();
      if (!c.busy) Shut(c);
    });
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, std::chrono::seconds(15), [this] { return open_ == 0; })) {
      lock.unlock();
      ForEachConn([](Conn& c) { Shut(c); });
      lock.lock();
      cv_.wait(lock, [this] { return open_ == 0; });
    }
    lock.unlock();
    if (workers_) workers_->join();
    for (auto& l : loops_) {
      l->work.reset();
      l->ioc.stop();
    }
    for (auto& l : loops_)
      if (l->thread.joinable()) l->thread.join();
  }

  void Wake() override {
    for (auto& l : loops_) {
      // A connection that starts polling after this check asks at once anyway.
      if (l->polling.load() == 0 || l->wake_posted.exchange(true)) continue;
      net::post(l->ioc, [l = l.get()] {
        l->wake_posted = false;
        for (Conn* c : l->pollers) {
          c->woken = true;
          c->wake.cancel();
        }
      });
    }
  }

  size_t open_connections() const override { return open_.load(); }

 private:
  static std::string FormatAddress(const tcp::endpoint& ep) {
    if (ep.address().is_v6())
      return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  static void Shut(Conn& c) {
    beast::error_code ec;
    c.sock.shutdown(tcp::socket::shutdown_both, ec);
    c.sock.cancel(ec);
  }

  // Runs `fn` on every open connection, each on its own thread.
  template <typename Fn>
  void ForEachConn(Fn fn) {
    for (auto& l : loops_) {
      net::post(l->ioc, [l = l.get(), fn] {
        for (Conn* c : l->conns) fn(*c);
      });
    }
  }

  // Runs `fn` on a worker thread; the awaiting coroutine resumes on its own
  // I/O thread with the result.
  template <typename T, typename Fn>
  Task<T> OnWorker(Fn fn) {
    return net::async_initiate<const net::use_awaitable_t<Executor>&, void(T)>(
        [this](auto handler, Fn work) {
          net::post(*workers_, [handler = std::move(handler), work = std::move(work)]() mutable {
            T result = work();
            auto ex = net::get_associated_executor(handler);
            net::post(ex, [handler = std::move(handler), result = std::move(result)]() mutable {
              std::move(handler)(std::move(result));
            });
          });
        },
        kUseTask, std::move(fn));
  }

  // Runs blocking work (a handler, on_head, a `stream` or `later` call): on
  // this I/O thread when `here` (work known to never wait), else on a worker
  // so that the other connections of this thread go on. An exception from
  // `fn` becomes `on_error()`.
  template <typename T, typename Fn, typename OnError>
  Task<T> Call(bool here, Fn fn, OnError on_error) {
    if (here) co_return Guarded<T>(fn, on_error);
    co_return co_await OnWorker<T>([fn = std::move(fn), on_error = std::move(on_error)]() mutable {
      return Guarded<T>(fn, on_error);
    });
  }

  Task<void> AcceptLoop() {
    Timer backoff(acceptor_->get_executor());
    size_t next = 0;
    for (;;) {
      beast::error_code ec;
      Loop& loop = *loops_[next++ % loops_.size()];
      Socket sock(loop.ioc);
      co_await acceptor_->async_accept(sock, Redirect(ec));
      if (stopping_ || ec == net::error::operation_aborted) co_return;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        backoff.expires_after(std::chrono::milliseconds(10));
        co_await backoff.async_wait(Redirect(ec));
        continue;
      }
      if (open_.load() >= options_.max_connections) {
        // A clean close: FIN, not a reset, and nothing else.
        sock.shutdown(tcp::socket::shutdown_both, ec);
        sock.close(ec);
        continue;
      }
      ++open_;
      net::co_spawn(loop.ioc, Session(std::make_shared<Conn>(std::move(sock), loop)),
                    net::detached);
    }
  }

  // Closes this loop's connections that are past their deadline.
  Task<void> Sweep(Loop& loop) {
    Timer timer(loop.ioc);
    for (;;) {
      beast::error_code ec;
      timer.expires_after(sweep_every_);
      co_await timer.async_wait(Redirect(ec));
      if (ec) co_return;
      auto now = Clock::now();
      for (Conn* c : loop.conns) {
        if (c->deadline > now || c->timed_out) continue;
        c->timed_out = true;
        c->sock.close(ec);
      }
    }
  }

  // Forgets the connection when the session ends, however it ends.
  struct Unregister {
    BeastHttpServer* server;
    Conn* conn;
    ~Unregister() {
      beast::error_code ec;
      conn->sock.close(ec);
      Loop& l = conn->loop;
      if (l.pollers.erase(conn)) l.polling = l.pollers.size();
      Conn* moved = l.conns.back();
      moved->slot = conn->slot;
      l.conns[conn->slot] = moved;
      l.conns.pop_back();
      if (--server->open_ == 0) {
        std::lock_guard lock(server->mu_);
        server->cv_.notify_all();
      }
    }
  };

  // Writes a whole answer (only its head when `head_only`).
  Task<bool> WriteAnswer(Conn& c, std::string& head, unsigned version, const HttpResponse& r,
                         bool keep_alive, bool head_only) {
    FormatHead(head, version, r, r.body.size(), keep_alive);
    beast::error_code ec;
    c.deadline = Clock::now() + options_.write_timeout;
    if (head_only || r.body.empty()) {
      co_await net::async_write(c.sock, net::buffer(head), Redirect(ec));
    } else {
      std::array<net::const_buffer, 2> bufs{net::buffer(head), net::buffer(r.body)};
      co_await net::async_write(c.sock, bufs, Redirect(ec));
    }
    co_return !ec;
  }

  Task<bool> WriteSimple(Conn& c, unsigned version, int status, std::string body, bool keep_alive) {
    std::string head;
    co_return co_await WriteAnswer(c, head, version,
                                   HttpResponse::Text(status, std::move(body), "application/json"),
                                   keep_alive, false);
  }

  // Reads and drops up to `n` bytes so the client, still sending, sees our
  // answer; stops when it pauses for kDiscardGap, or falls below the body
  // rate (a trickle must not keep the connection for ever).
  Task<void> Discard(Conn& c, size_t n) {
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
      c.deadline = until;
      size_t got = co_await c.sock.async_read_some(net::buffer(buf.data(), std::min(n, buf.size())),
                                                   Redirect(ec));
      if (ec || got == 0) co_return;
      n -= got;
      dropped += got;
    }
  }

  // After an error answer: no more to send; read and drop what the client
  // still sends until it closes, so it reads the answer rather than a reset.
  Task<void> Linger(Conn& c) {
    beast::error_code ec;
    c.sock.shutdown(tcp::socket::shutdown_send, ec);
    co_await Discard(c, 1u << 20);
  }

  // Waits until woken or `for_at_most` has passed; never polls again sooner
  // than kMinPollGap after `last_poll`.
  Task<void> WaitForWake(Conn& c, Clock::duration for_at_most, Clock::time_point last_poll) {
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

  static void SetPolling(Conn& c, bool on) {
    if (on)
      c.loop.pollers.insert(&c);
    else
      c.loop.pollers.erase(&c);
    c.loop.polling = c.loop.pollers.size();
  }

  // Resolves a `later` answer: asks it until it answers.
  Task<HttpResponse> AwaitLater(Conn& c, HttpResponse pending) {
    SetPolling(c, true);
    std::optional<HttpResponse> answer;
    for (;;) {
      bool last = stopping_ || Clock::now() >= pending.deadline;
      auto asked = Clock::now();
      answer = co_await Call<std::optional<HttpResponse>>(
          false, [&pending, last] { return pending.later(last); },
          [] { return std::optional<HttpResponse>(JsonError(500, "internal", "internal error")); });
      if (answer || last) break;
      auto left = pending.deadline - Clock::now();
      Clock::duration wait = std::min<Clock::duration>(pending.poll_every, left);
      co_await WaitForWake(c, std::max<Clock::duration>(wait, Clock::duration::zero()), asked);
    }
    SetPolling(c, false);
    if (!answer) co_return JsonError(503, "unavailable", "no answer");
    answer->later = nullptr;  // an answer that is itself pending is not supported
    co_return std::move(*answer);
  }

  // Sends a streamed body chunk by chunk, asking `stream` for each.
  // Returns false when the connection failed.
  Task<bool> SendStream(Conn& c, HttpResponse& out, unsigned version, bool keep_alive) {
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
    c.deadline = Clock::now() + options_.write_timeout;
    co_await http::async_write_header(c.sock, sr, Redirect(ec));
    if (ec) co_return false;
    c.deadline = kNoDeadline;
    SetPolling(c, true);
    bool ok = true;
    uint64_t sent = 0;
    for (;;) {
      bool stopping = stopping_;
      auto asked = Clock::now();
      std::pair<std::string, bool> got = co_await Call<std::pair<std::string, bool>>(
          false,
          [&out, stopping] {
            std::string piece;
            bool more = out.stream(piece, stopping);
            return std::make_pair(std::move(piece), more);
          },
          [] { return std::make_pair(std::string(), false); });
      if (!got.first.empty()) {
        c.deadline = Clock::now() + options_.write_timeout;
        if (sized)
          co_await net::async_write(c.sock, net::buffer(got.first), Redirect(ec));
        else
          co_await net::async_write(c.sock, http::make_chunk(net::buffer(got.first)), Redirect(ec));
        c.deadline = kNoDeadline;
        if (ec) {
          ok = false;
          break;
        }
        sent += got.first.size();
      }
      if (!got.second || stopping) break;
      if (!sized) co_await WaitForWake(c, out.poll_every, asked);
    }
    SetPolling(c, false);
    if (!ok) co_return false;
    // A sized body cut short (the file went away) cannot end cleanly: close.
    if (sized) co_return sent == *out.content_length;
    c.deadline = Clock::now() + options_.write_timeout;
    co_await net::async_write(c.sock, http::make_chunk_last(), Redirect(ec));
    co_return !ec;
  }

  // When a body read that began at `started` with `received` bytes so far
  // must have made progress: `body_grace`, plus a second per `min_body_rate`.
  Clock::time_point BodyDeadline(Clock::time_point started, size_t received) const {
    if (options_.min_body_rate == 0) return kNoDeadline;
    return started + options_.body_grace +
           std::chrono::milliseconds(received * 1000 / options_.min_body_rate);
  }

  // The answer to a body that could not be read (`ec`), if one is due.
  Task<void> AnswerBodyError(Conn& c, unsigned version, beast::error_code ec) {
    if (c.timed_out) co_return;
    if (ec == http::error::body_limit)
      co_await WriteSimple(c, version, 413,
                           ErrorBody("payload_too_large", "the request body is too large"), false);
    else if (ec != http::error::end_of_stream && ec != net::error::eof &&
             ec != net::error::operation_aborted)
      co_await WriteSimple(c, version, 400, ErrorBody("bad_request", "malformed HTTP request body"),
                           false);
  }

  // Reads the body of `req` into a SpooledBody in spool_dir, each piece
  // written on a worker; false when the connection is done with (answered
  // or gone). Memory: one 256 KiB piece, whatever the body's size.
  Task<bool> SpoolBody(Conn& c, beast::flat_buffer& buffer,
                       http::request_parser<http::string_body>&& head_parser, HttpRequest& req,
                       bool& keep_alive) {
    beast::error_code ec;
    unsigned version = head_parser.get().version();
    std::shared_ptr<SpooledBody> spool = co_await Call<std::shared_ptr<SpooledBody>>(
        false,
        [this] { return std::shared_ptr<SpooledBody>(SpooledBody::Create(options_.spool_dir)); },
        [] { return std::shared_ptr<SpooledBody>(); });
    http::request_parser<http::buffer_body> parser(std::move(head_parser));
    std::vector<char> piece(256u << 10);
    bool written = spool != nullptr;
    auto started = Clock::now();
    size_t received = 0, filled = 0;
    while (!parser.is_done()) {
      parser.get().body().data = piece.data() + filled;
      parser.get().body().size = piece.size() - filled;
      c.deadline = BodyDeadline(started, received);
      received += co_await http::async_read_some(c.sock, buffer, parser, Redirect(ec));
      if (ec == http::error::need_buffer) ec = {};
      if (ec) break;
      filled = piece.size() - parser.get().body().size;
      // A whole piece (or the last) goes to the worker: one hand-off per
      // 256 KiB, not one per read. After a failed write the rest is read and
      // dropped, to answer cleanly.
      if (filled == piece.size() || (parser.is_done() && filled > 0)) {
        if (written)
          written = co_await Call<bool>(
              false, [&spool, &piece, filled] { return spool->Write(piece.data(), filled); },
              [] { return false; });
        filled = 0;
      }
    }
    c.deadline = kNoDeadline;
    if (ec) {
      co_await AnswerBodyError(c, version, ec);
      co_return false;
    }
    if (written)
      written = co_await Call<bool>(
          false, [&spool] { return spool->Finish(); }, [] { return false; });
    if (!written) {
      // No room for it (a full disk): nothing taken, try later.
      HttpResponse busy = JsonError(503, "unavailable", "the request body could not be stored");
      busy.headers.emplace_back("Retry-After", "5");
      std::string head_out;
      co_await WriteAnswer(c, head_out, version, busy, false, false);
      co_return false;
    }
    keep_alive = parser.keep_alive();
    req.spooled = std::move(spool);
    co_return true;
  }

  Task<void> Session(std::shared_ptr<Conn> c) {
    Loop& loop = c->loop;
    c->slot = loop.conns.size();
    loop.conns.push_back(c.get());
    Unregister unregister{this, c.get()};
    // The first head is due header_timeout after the accept.
    c->deadline = Clock::now() + options_.header_timeout;
    beast::error_code ec;
    c->sock.set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto rep = c->sock.remote_endpoint(ec);
    if (!ec) remote = rep.address().to_string();
    beast::flat_buffer buffer;
    std::string head_out;  // the answer's head, its storage reused
    bool first = true;
    while (!stopping_) {
      if (!first) {
        // Between requests: wait for the next one's first byte, for
        // idle_timeout; its head is then due header_timeout later.
        if (buffer.size() == 0) {
          // A read rather than a wait for readability: under load the
          // request is often there already, and a wait would re-arm the
          // socket in epoll (one more system call per request).
          c->deadline = Clock::now() + options_.idle_timeout;
          size_t n = co_await c->sock.async_read_some(buffer.prepare(4096), Redirect(ec));
          if (ec || c->timed_out || stopping_) co_return;
          buffer.commit(n);
        }
        c->deadline = Clock::now() + options_.header_timeout;
      }
      first = false;
      http::request_parser<http::string_body> parser;
      parser.header_limit(static_cast<std::uint32_t>(options_.max_header_bytes));
      // The limit is set once the head is read (it may depend on it); a
      // Content-Length over a limit set now would fail read_header itself.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      co_await http::async_read_header(c->sock, buffer, parser, Redirect(ec));
      if (ec) {
        // A timeout has closed the socket already; say nothing then.
        if (c->timed_out) co_return;
        if (ec == http::error::header_limit) {
          if (co_await WriteSimple(*c, 11, 431,
                                   ErrorBody("bad_request", "request headers too large"), false))
            co_await Linger(*c);
        } else if (ec != http::error::end_of_stream && ec != net::error::eof &&
                   ec != net::error::operation_aborted && !stopping_ && buffer.size() > 0) {
          if (co_await WriteSimple(*c, 11, 400, ErrorBody("bad_request", "malformed HTTP request"),
                                   false))
            co_await Linger(*c);
        }
        co_return;
      }
      c->busy = true;
      c->deadline = kNoDeadline;
      auto& head = parser.get();
      unsigned version = head.version();
      size_t fields = static_cast<size_t>(std::distance(head.begin(), head.end()));
      if (fields > options_.max_header_fields) {
        if (co_await WriteSimple(*c, version, 431,
                                 ErrorBody("bad_request", "too many request headers"), false))
          co_await Linger(*c);
        co_return;
      }
      HttpRequest req = RequestFromHead(head, fields);
      req.remote_address = remote;
      // Served here, on this I/O thread, or on a worker.
      const bool here = options_.runs_inline && options_.runs_inline(req);
      size_t body_limit = options_.max_body;
      if (options_.on_head && req.path.starts_with(options_.on_head_prefix)) {
        auto early = co_await Call<std::optional<HttpResponse>>(
            here, [this, &req, &body_limit] { return options_.on_head(req, body_limit); },
            [] { return std::optional<HttpResponse>(); });
        if (early) {
          // Answered from the head (webhook 404/405/413): drop what the client still sends.
          if (!co_await WriteAnswer(*c, head_out, version, *early, false, false)) co_return;
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
        c->deadline = Clock::now() + options_.write_timeout;
        co_await http::async_write(c->sock, cont, Redirect(ec));
        if (ec) co_return;
      }
      bool keep_alive = false;
      if (req.spool_body) {
        // Into a file as it arrives (on a worker), never into memory.
        if (!co_await SpoolBody(*c, buffer, std::move(parser), req, keep_alive)) co_return;
      } else {
        // The body: `body_grace`, plus a second per `min_body_rate` bytes.
        if (!parser.is_done()) {
          auto body_started = Clock::now();
          size_t received = 0;
          while (!parser.is_done()) {
            c->deadline = BodyDeadline(body_started, received);
            received += co_await http::async_read_some(c->sock, buffer, parser, Redirect(ec));
            if (ec) break;
          }
          c->deadline = kNoDeadline;
        }
        if (ec) {
          co_await AnswerBodyError(*c, version, ec);
          co_return;
        }
        auto msg = parser.release();
        req.body = std::move(msg.body());
        keep_alive = msg.keep_alive();
      }
      bool is_head = req.method == "HEAD";

      HttpResponse out = co_await Call<HttpResponse>(
          here, [this, &req] { return handler_(req); },
          [] { return JsonError(500, "internal", "internal error"); });
      if (out.later) out = co_await AwaitLater(*c, std::move(out));
      keep_alive = keep_alive && !out.close && !stopping_;

      if (out.stream) {
        if (!co_await SendStream(*c, out, version, keep_alive)) co_return;
      } else {
        if (!co_await WriteAnswer(*c, head_out, version, out, keep_alive, is_head)) co_return;
      }
      c->busy = false;
      if (!keep_alive) {
        c->sock.shutdown(tcp::socket::shutdown_send, ec);
        co_return;
      }
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  std::string address_;
  std::chrono::milliseconds sweep_every_{250};
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  std::atomic<size_t> open_{0};  // connections open now
  // Stop waits on cv_ for open_ to reach 0.
  std::mutex mu_;
  std::condition_variable cv_;
  // Declared before the loops: a session destroyed with its io_context
  // still unregisters from its loop.
  std::vector<std::unique_ptr<Loop>> loops_;
  std::optional<Acceptor> acceptor_;  // on loops_[0]
  std::unique_ptr<net::thread_pool> workers_;
};

// As many open files as allowed: each connection is one.
void RaiseOpenFileLimit() {
  rlimit lim{};
  if (::getrlimit(RLIMIT_NOFILE, &lim) != 0 || lim.rlim_cur >= lim.rlim_max) return;
  lim.rlim_cur = lim.rlim_max;
  ::setrlimit(RLIMIT_NOFILE, &lim);
}

}  // namespace

ParsedRequest ParseRequest(std::string_view bytes, const HttpServerOptions& options) {
  // The steps of BeastHttpServer::Session, over bytes instead of a socket.
  ParsedRequest out;
  http::request_parser<http::string_body> parser;
  parser.header_limit(static_cast<std::uint32_t>(options.max_header_bytes));
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  parser.eager(false);
  beast::error_code ec;
  size_t used = 0;
  while (!parser.is_header_done()) {
    size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    if (ec == http::error::need_more || (!ec && n == 0)) {
      out.status = -1;
      return out;
    }
    if (ec) {
      out.status = ec == http::error::header_limit ? 431 : 400;
      return out;
    }
  }
  auto& head = parser.get();
  size_t fields = static_cast<size_t>(std::distance(head.begin(), head.end()));
  if (fields > options.max_header_fields) {
    out.status = 431;
    return out;
  }
  out.request = RequestFromHead(head, fields);
  parser.body_limit(options.max_body);
  if (parser.content_length() && *parser.content_length() > options.max_body) {
    out.status = 413;
    return out;
  }
  parser.eager(true);
  while (!parser.is_done()) {
    size_t n = parser.put(net::buffer(bytes.data() + used, bytes.size() - used), ec);
    used += n;
    // A body cut short: put() takes what there is without an error, then
    // nothing more (a connection would wait for the rest).
    if (ec == http::error::need_more || (!ec && n == 0)) {
      out.status = -1;
      return out;
    }
    if (ec) {
      out.status = ec == http::error::body_limit ? 413 : 400;
      return out;
    }
  }
  auto msg = parser.release();
  out.request.body = std::move(msg.body());
  out.keep_alive = msg.keep_alive();
  out.used = used;
  return out;
}

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(HttpServerOptions options,
                                                       HttpHandler handler) {
  RaiseOpenFileLimit();
  auto server = std::make_unique<BeastHttpServer>(std::move(options), std::move(handler));
  auto bound = server->Bind();
  if (!bound) return Fail(std::move(bound).error());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace weft::server
