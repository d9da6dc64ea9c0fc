// The only file that includes Beast: synchronous HTTP/1.1 on a thread per
// connection. Sync reads on blocking sockets never touch the io_context's
// reactor, so the connection threads share one io_context without running it.
#include "server/http_server.h"

#include <poll.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <limits>
#include <condition_variable>
#include <mutex>
#include <set>
#include <thread>

namespace weft::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

constexpr size_t kHeaderLimit = 64 * 1024;
constexpr size_t kMaxDiscard = 1ull << 30;  // bytes read and dropped after a 413

struct Conn {
  int fd = -1;
  std::atomic<bool> busy{false};
};

class ChunkWriter : public StreamWriter {
 public:
  ChunkWriter(tcp::socket& sock, const std::atomic<bool>& stopping) : sock_(sock), stopping_(stopping) {}
  bool Write(std::string_view data) override {
    if (failed_) return false;
    if (data.empty()) return true;
    beast::error_code ec;
    net::write(sock_, http::make_chunk(net::const_buffer(data.data(), data.size())), ec);
    if (ec) failed_ = true;
    return !failed_;
  }
  bool Stopping() const override { return stopping_.load(); }
  bool failed() const { return failed_; }

 private:
  tcp::socket& sock_;
  const std::atomic<bool>& stopping_;
  bool failed_ = false;
};

class BeastHttpServer : public HttpServer {
 public:
  BeastHttpServer(HttpServerOptions options, HttpHandler handler)
      : options_(std::move(options)), handler_(std::move(handler)), acceptor_(ioc_) {}
  ~BeastHttpServer() override { Stop(); }

  Result<void> Bind() {
    std::string host;
    std::string port_text;
    const std::string& listen = options_.listen;
    size_t colon = listen.rfind(':');
    if (colon == std::string::npos) return Fail(ErrorCode::kBadRequest, "listen address \"" + listen + "\" is not host:port");
    host = listen.substr(0, colon);
    port_text = listen.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
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
    if (ec) return Fail(ErrorCode::kBadRequest, "listen address \"" + listen + "\": \"" + host + "\" is not an IP address");
    tcp::endpoint ep(address, static_cast<unsigned short>(port));
    acceptor_.open(ep.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(ep, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) return Fail(ErrorCode::kUnavailable, "cannot listen on " + listen + ": " + ec.message());
    return Ok();
  }

  std::string address() const override {
    beast::error_code ec;
    auto ep = acceptor_.local_endpoint(ec);
    if (ec) return "";
    if (ep.address().is_v6()) return "[" + ep.address().to_string() + "]:" + std::to_string(ep.port());
    return ep.address().to_string() + ":" + std::to_string(ep.port());
  }

  void Start() override {
    accept_thread_ = std::thread([this] { AcceptLoop(); });
  }

  void Stop() override {
    if (stopped_.exchange(true)) return;
    stopping_ = true;
    if (acceptor_.is_open()) ::shutdown(acceptor_.native_handle(), SHUT_RDWR);
    if (accept_thread_.joinable()) accept_thread_.join();
    beast::error_code ec;
    acceptor_.close(ec);
    std::unique_lock lock(mu_);
    for (Conn* c : conns_) {
      if (!c->busy.load()) ::shutdown(c->fd, SHUT_RDWR);
    }
    if (!cv_.wait_for(lock, std::chrono::seconds(15), [this] { return conns_.empty(); })) {
      for (Conn* c : conns_) ::shutdown(c->fd, SHUT_RDWR);
      cv_.wait(lock, [this] { return conns_.empty(); });
    }
  }

  size_t open_connections() const override {
    std::lock_guard lock(mu_);
    return conns_.size();
  }

 private:
  void AcceptLoop() {
    while (!stopping_) {
      tcp::socket sock(ioc_);
      beast::error_code ec;
      acceptor_.accept(sock, ec);
      if (stopping_) break;
      if (ec) {
        // EMFILE and friends: back off instead of spinning.
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
        continue;
      }
      auto conn = std::make_unique<Conn>();
      conn->fd = sock.native_handle();
      {
        std::lock_guard lock(mu_);
        if (conns_.size() >= options_.max_connections) {
          sock.close(ec);
          continue;
        }
        conns_.insert(conn.get());
      }
      std::thread([this, sock = std::move(sock), conn = std::move(conn)]() mutable {
        Serve(sock, *conn);
        beast::error_code ignored;
        sock.shutdown(tcp::socket::shutdown_both, ignored);
        sock.close(ignored);
        std::lock_guard lock(mu_);
        conns_.erase(conn.get());
        cv_.notify_all();
      }).detach();
    }
  }

  bool WriteSimple(tcp::socket& sock, unsigned version, int status, const std::string& body, bool keep_alive) {
    http::response<http::string_body> res{http::status::ok, version};
    res.result(static_cast<unsigned>(status));
    res.set(http::field::content_type, "application/json");
    res.keep_alive(keep_alive);
    res.body() = body;
    res.prepare_payload();
    beast::error_code ec;
    http::write(sock, res, ec);
    return !ec;
  }

  // Reads and drops up to `n` bytes so the client, still sending, sees our answer.
  static void Discard(int fd, size_t n) {
    char buf[16384];
    while (n > 0) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 2000) <= 0) return;
      ssize_t got = ::recv(fd, buf, std::min(n, sizeof buf), 0);
      if (got <= 0) return;
      n -= static_cast<size_t>(got);
    }
  }

  void Serve(tcp::socket& sock, Conn& conn) {
    beast::error_code ec;
    sock.set_option(tcp::no_delay(true), ec);
    std::string remote;
    auto rep = sock.remote_endpoint(ec);
    if (!ec) remote = rep.address().to_string();
    beast::flat_buffer buffer;
    while (!stopping_) {
      http::request_parser<http::string_body> parser;
      parser.header_limit(kHeaderLimit);
      // The limit is set once the head is read (it may depend on it); a
      // Content-Length over a limit set now would fail read_header itself.
      parser.body_limit(std::numeric_limits<std::uint64_t>::max());
      http::read_header(sock, buffer, parser, ec);
      if (ec) {
        if (ec == http::error::header_limit) WriteSimple(sock, 11, 431, R"({"error":{"code":"bad_request","message":"request headers too large"}})", false);
        else if (ec != http::error::end_of_stream && ec != net::error::eof && !stopping_ && buffer.size() > 0)
          WriteSimple(sock, 11, 400, R"({"error":{"code":"bad_request","message":"malformed HTTP request"}})", false);
        return;
      }
      conn.busy = true;
      auto& head = parser.get();
      unsigned version = head.version();
      // The request as handlers see it, from the head; the body comes later.
      HttpRequest req;
      req.method = std::string(head.method_string());
      req.target = std::string(head.target());
      size_t q = req.target.find('?');
      req.path = UrlDecode(std::string_view(req.target).substr(0, q), false);
      if (q != std::string::npos) req.query_string = req.target.substr(q + 1);
      req.headers.reserve(16);
      for (const auto& field : head) {
        std::string name(field.name_string());
        for (char& c : name) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        req.headers.emplace_back(std::move(name), std::string(field.value()));
      }
      req.remote_address = remote;
      size_t body_limit = options_.max_body;
      if (options_.on_head) {
        if (auto early = options_.on_head(req, body_limit)) {
          // Answered from the head (webhook 404/405/413): drop what the client still sends.
          http::response<http::string_body> res{http::status::ok, version};
          res.result(static_cast<unsigned>(early->status));
          if (!early->content_type.empty()) res.set(http::field::content_type, early->content_type);
          for (const auto& [k, v] : early->headers) res.insert(k, v);
          res.keep_alive(false);
          res.body() = std::move(early->body);
          res.prepare_payload();
          http::write(sock, res, ec);
          if (ec) return;
          if (parser.content_length()) {
            size_t cl = static_cast<size_t>(*parser.content_length());
            size_t buffered = buffer.size();
            if (cl > buffered) Discard(conn.fd, std::min(cl - buffered, kMaxDiscard));
          }
          return;
        }
        req.params.clear();
      }
      parser.body_limit(body_limit);
      if (parser.content_length() && *parser.content_length() > body_limit) {
        size_t cl = static_cast<size_t>(*parser.content_length());
        WriteSimple(sock, version, 413,
                    R"({"error":{"code":"payload_too_large","message":"the request body is larger than )" +
                        std::to_string(body_limit) + R"( bytes"}})",
                    false);
        size_t buffered = buffer.size();
        if (cl > buffered) Discard(conn.fd, std::min(cl - buffered, kMaxDiscard));
        return;
      }
      auto expect = head[http::field::expect];
      if (beast::iequals(expect, "100-continue")) {
        http::response<http::empty_body> cont{http::status::continue_, version};
        http::write(sock, cont, ec);
        if (ec) return;
      }
      http::read(sock, buffer, parser, ec);
      if (ec) {
        if (ec == http::error::body_limit)
          WriteSimple(sock, version, 413, R"({"error":{"code":"payload_too_large","message":"the request body is too large"}})", false);
        else if (ec != http::error::end_of_stream && ec != net::error::eof)
          WriteSimple(sock, version, 400, R"({"error":{"code":"bad_request","message":"malformed HTTP request body"}})", false);
        return;
      }
      auto msg = parser.release();
      req.body = std::move(msg.body());
      bool keep_alive = msg.keep_alive();
      bool is_head = req.method == "HEAD";

      HttpResponse out = handler_(req);
      keep_alive = keep_alive && !out.close && !stopping_;

      if (out.stream) {
        http::response<http::empty_body> res{http::status::ok, version};
        res.result(static_cast<unsigned>(out.status));
        res.set(http::field::content_type, out.content_type);
        for (const auto& [k, v] : out.headers) res.insert(k, v);
        res.keep_alive(keep_alive);
        res.chunked(true);
        http::response_serializer<http::empty_body> sr{res};
        http::write_header(sock, sr, ec);
        if (ec) return;
        ChunkWriter writer(sock, stopping_);
        out.stream(writer);
        if (writer.failed()) return;
        net::write(sock, http::make_chunk_last(), ec);
        if (ec) return;
      } else {
        http::response<http::string_body> res{http::status::ok, version};
        res.result(static_cast<unsigned>(out.status));
        if (!out.content_type.empty()) res.set(http::field::content_type, out.content_type);
        for (const auto& [k, v] : out.headers) res.insert(k, v);
        res.keep_alive(keep_alive);
        res.body() = std::move(out.body);
        res.prepare_payload();
        if (is_head) {
          http::response_serializer<http::string_body> sr{res};
          http::write_header(sock, sr, ec);
        } else {
          http::write(sock, res, ec);
        }
        if (ec) return;
      }
      conn.busy = false;
      if (!keep_alive) return;
    }
  }

  HttpServerOptions options_;
  HttpHandler handler_;
  net::io_context ioc_;
  tcp::acceptor acceptor_;
  std::thread accept_thread_;
  std::atomic<bool> stopping_{false};
  std::atomic<bool> stopped_{false};
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::set<Conn*> conns_;
};

}  // namespace

Result<std::unique_ptr<HttpServer>> HttpServer::Listen(HttpServerOptions options, HttpHandler handler) {
  auto server = std::make_unique<BeastHttpServer>(std::move(options), std::move(handler));
  auto bound = server->Bind();
  if (!bound) return Fail(std::move(bound).error());
  return std::unique_ptr<HttpServer>(std::move(server));
}

}  // namespace weft::server
