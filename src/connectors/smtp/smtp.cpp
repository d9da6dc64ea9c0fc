#include "connectors/smtp/smtp.h"

#include <ctime>

#include "common/base64.h"
#include "common/ids.h"
#include "connectors/common/curl.h"
#include "connectors/common/file_values.h"
#include "connectors/common/redact.h"
#include "connectors/common/spec.h"

namespace weft::connectors {
namespace {

ConnectorSpec MakeSpec() {
  ConnectorSpec s;
  s.name = "smtp";
  s.title = "Email (SMTP)";
  s.description = "Send email through an SMTP server.";
  s.icon = "mail";
  s.needs_connection = true;
  s.fields = {
      Field("host", "Host", "string", true, "e.g. smtp.example.com"),
      Field("port", "Port", "integer", false, "587 for STARTTLS, 465 for TLS, 25 for none.", 587),
      Field("security", "Security", "enum", false,
            "starttls upgrades a plain connection; tls starts encrypted.", "starttls",
            {"starttls", "tls", "none"}),
      Field("from", "Default sender", "string", false, "e.g. \"Weft <weft@example.com>\""),
      Field("verify_tls", "Verify TLS certificates", "boolean", false, "", true),
      Field("timeout", "Timeout", "duration", false, "", "30s")};
  s.auth_types = {{"login",
                   "User and password",
                   {Field("username", "User", "string", true, ""),
                    SecretField("password", "Password", true, "")}},
                  {"none", "No authentication", {}}};
  s.actions = {{"send",
                "Send email",
                "Sends one message to its recipients.",
                {Field("to", "To", "any", true, "An address or a list of addresses."),
                 Field("cc", "Cc", "any", false, ""),
                 Field("bcc", "Bcc", "any", false, "Not shown to the other recipients."),
                 Field("from", "From", "string", false, "Defaults to the connection's sender."),
                 Field("reply_to", "Reply to", "string", false, ""),
                 Field("subject", "Subject", "string", true, ""),
                 Field("text", "Text body", "text", false, ""),
                 Field("html", "HTML body", "text", false, ""),
                 Field("attachments", "Attachments", "array", false,
                       "[{file | content_base64 | content, filename, content_type}]: file is a "
                       "file value (e.g. {{ steps.download.output.file }}), streamed from the file "
                       "store, named and typed from the value unless filename or content_type is "
                       "given; content_base64 and content suit small attachments."),
                 Field("headers", "Extra headers", "object", false, "")},
                "{message_id, recipients}",
                {}}};
  return s;
}

const ConnectorSpec& Spec() {
  static const ConnectorSpec* spec = new ConnectorSpec(MakeSpec());
  return *spec;
}

std::vector<std::string> Addresses(const Json& v) {
  std::vector<std::string> out;
  auto add = [&](const std::string& s) {
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string a =
          s.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      size_t b = a.find_first_not_of(" \t"), e = a.find_last_not_of(" \t");
      if (b != std::string::npos) out.push_back(a.substr(b, e - b + 1));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
  };
  if (v.is_string()) add(v.get<std::string>());
  if (v.is_array())
    for (const auto& e : v)
      if (e.is_string()) add(e.get<std::string>());
  return out;
}

// The bare address of "Name <a@b>" (for the envelope).
std::string Bare(const std::string& a) {
  size_t lt = a.rfind('<'), gt = a.rfind('>');
  if (lt != std::string::npos && gt != std::string::npos && gt > lt)
    return a.substr(lt + 1, gt - lt - 1);
  return a;
}

bool Ascii(const std::string& s) {
  for (unsigned char c : s)
    if (c >= 0x80 || c == '\r' || c == '\n') return false;
  return true;
}

// RFC 2047 for a header value that is not plain ASCII.
std::string EncodeHeader(const std::string& s) {
  if (Ascii(s)) return s;
  std::string clean;
  for (char c : s)
    if (c != '\r' && c != '\n') clean += c;
  return "=?UTF-8?B?" + Base64Encode(clean) + "?=";
}

bool SafeHeader(const std::string& s) {
  return s.find('\r') == std::string::npos && s.find('\n') == std::string::npos;
}

std::string BaseUrl(const Connection& c) {
  std::string security = GetString(c.settings, "security", "starttls");
  int64_t default_port = security == "tls" ? 465 : security == "none" ? 25 : 587;
  auto configured = OptInt(c.settings, "port");
  int64_t port = configured && configured->has_value() ? **configured : default_port;
  return std::string(security == "tls" ? "smtps://" : "smtp://") + GetString(c.settings, "host") +
         ":" + std::to_string(port);
}

void Configure(CURL* h, const Connection& c) {
  std::string security = GetString(c.settings, "security", "starttls");
  if (security == "starttls")
    curl_easy_setopt(h, CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
  if (c.settings.value("verify_tls", true) == false) {
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 0L);
    curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 0L);
  }
  if (GetString(c.auth, "type") == "login") {
    curl_easy_setopt(h, CURLOPT_USERNAME, GetString(c.auth, "username").c_str());
    curl_easy_setopt(h, CURLOPT_PASSWORD, GetString(c.auth, "password").c_str());
  }
}

class SendAction : public Action {
 public:
  ActionOutcome Execute(ActionContext& ctx) override {
    if (!ctx.connection)
      return ActionOutcome::Failed(ErrorCode::kValidation, "smtp.send needs a connection");
    const Connection& c = *ctx.connection;
    const Json& in = ctx.input;
    Redactor redact(c, Spec());
    auto to = Addresses(in.value("to", Json(nullptr)));
    auto cc = Addresses(in.value("cc", Json(nullptr)));
    auto bcc = Addresses(in.value("bcc", Json(nullptr)));
    if (to.empty() && cc.empty() && bcc.empty())
      return InputError(
          Error(ErrorCode::kValidation, "to is required", {{"with.to", "is required"}}));
    std::string from = GetString(in, "from", GetString(c.settings, "from"));
    if (from.empty())
      return InputError(Error(ErrorCode::kValidation,
                              "from is required (the connection has no default sender)",
                              {{"with.from", "is required"}}));
    auto subject = OptString(in, "subject");
    if (!subject) return InputError(subject.error());
    std::string text = GetString(in, "text"), html = GetString(in, "html");
    for (const auto& a : to)
      if (!SafeHeader(a))
        return ActionOutcome::Failed(ErrorCode::kValidation, "an address holds a line break");
    for (const auto& a : cc)
      if (!SafeHeader(a))
        return ActionOutcome::Failed(ErrorCode::kValidation, "an address holds a line break");
    if (!SafeHeader(from) || !SafeHeader(GetString(in, "reply_to")))
      return ActionOutcome::Failed(ErrorCode::kValidation, "from and reply_to must be one line");

    CallEnv env = EnvOf(ctx);
    auto timeout = OptDuration(c.settings, "timeout");
    Transfer t(env, true, timeout && timeout->has_value() ? **timeout : Millis(30'000));
    CURL* h = t.handle();
    curl_easy_setopt(h, CURLOPT_URL, BaseUrl(c).c_str());
    Configure(h, c);
    std::string envelope_from = "<" + Bare(from) + ">";
    curl_easy_setopt(h, CURLOPT_MAIL_FROM, envelope_from.c_str());
    HeaderList rcpt;
    std::vector<std::string> recipients;
    for (const auto* list : {&to, &cc, &bcc})
      for (const auto& a : *list) {
        rcpt.Add("<" + Bare(a) + ">");
        recipients.push_back(Bare(a));
      }
    curl_easy_setopt(h, CURLOPT_MAIL_RCPT, rcpt.get());

    std::string domain =
        Bare(from).substr(Bare(from).find('@') == std::string::npos ? 0 : Bare(from).find('@') + 1);
    std::string message_id =
        "<" + RandomToken(128) + "@" + (domain.empty() ? "weft" : domain) + ">";
    char date[64];
    std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    std::strftime(date, sizeof date, "%a, %d %b %Y %H:%M:%S +0000", &tm);
    auto join = [](const std::vector<std::string>& v) {
      std::string s;
      for (const auto& a : v) s += (s.empty() ? "" : ", ") + a;
      return s;
    };
    HeaderList headers;
    headers.Add("Date: " + std::string(date));
    headers.Add("From: " + from);
    if (!to.empty()) headers.Add("To: " + join(to));
    if (!cc.empty()) headers.Add("Cc: " + join(cc));
    if (!GetString(in, "reply_to").empty()) headers.Add("Reply-To: " + GetString(in, "reply_to"));
    headers.Add("Subject: " + EncodeHeader(subject->value_or("")));
    headers.Add("Message-ID: " + message_id);
    if (in.contains("headers") && in["headers"].is_object())
      for (auto& [k, v] : in["headers"].items()) {
        std::string value = v.is_string() ? v.get<std::string>() : v.dump();
        if (!SafeHeader(k) || !SafeHeader(value) || k.find(':') != std::string::npos)
          return ActionOutcome::Failed(ErrorCode::kValidation, "header " + k + " must be one line");
        headers.Add(k + ": " + EncodeHeader(value));
      }
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());

    // multipart/mixed { multipart/alternative { text, html }, attachments... }
    curl_mime* mime = curl_mime_init(h);
    curl_mime* alt = curl_mime_init(h);
    if (!text.empty() || html.empty()) {
      curl_mimepart* p = curl_mime_addpart(alt);
      curl_mime_data(p, text.data(), text.size());
      curl_mime_type(p, "text/plain; charset=utf-8");
      curl_mime_encoder(p, "quoted-printable");
    }
    if (!html.empty()) {
      curl_mimepart* p = curl_mime_addpart(alt);
      curl_mime_data(p, html.data(), html.size());
      curl_mime_type(p, "text/html; charset=utf-8");
      curl_mime_encoder(p, "quoted-printable");
    }
    curl_mimepart* body = curl_mime_addpart(mime);
    curl_mime_subparts(body, alt);
    curl_mime_type(body, "multipart/alternative");
    HeaderList inline_header;
    inline_header.Add("Content-Disposition: inline");
    curl_mime_headers(body, inline_header.get(), 0);
    Json attachments = in.value("attachments", Json::array());
    if (!attachments.is_array()) {
      curl_mime_free(mime);
      return ActionOutcome::Failed(ErrorCode::kValidation, "attachments must be an array");
    }
    std::vector<std::unique_ptr<FileReader>> readers;  // outlive Perform
    for (size_t i = 0; i < attachments.size(); ++i) {
      const Json& a = attachments[i];
      const std::string where = "with.attachments[" + std::to_string(i) + "]";
      if (a.is_object() && a.contains("file")) {
        auto file = FileInput(a, "file", ctx.files, where + ".file");
        if (!file) {
          curl_mime_free(mime);
          return InputError(file.error());
        }
        readers.push_back(std::make_unique<FileReader>(ctx.files, *file));
        curl_mimepart* p = curl_mime_addpart(mime);
        curl_mime_data_cb(p, static_cast<curl_off_t>(file->size), &FileReader::Read,
                          &FileReader::Seek, nullptr, readers.back().get());
        std::string filename = GetString(
            a, "filename", file->name.empty() ? "attachment-" + std::to_string(i + 1) : file->name);
        curl_mime_filename(p, filename.c_str());
        curl_mime_type(p, GetString(a, "content_type", file->content_type).c_str());
        curl_mime_encoder(p, "base64");
        continue;
      }
      std::string data;
      if (a.is_object() && a.contains("content_base64")) {
        auto decoded = Base64Decode(GetString(a, "content_base64"));
        if (!decoded) {
          curl_mime_free(mime);
          return ActionOutcome::Failed(
              ErrorCode::kValidation,
              "attachments[" + std::to_string(i) + "].content_base64 is not base64");
        }
        data = std::move(*decoded);
      } else if (a.is_object() && a.contains("content")) {
        data = a["content"].is_string() ? a["content"].get<std::string>() : a["content"].dump();
      } else {
        curl_mime_free(mime);
        return ActionOutcome::Failed(
            ErrorCode::kValidation,
            "attachments[" + std::to_string(i) + "] needs file, content_base64 or content");
      }
      curl_mimepart* p = curl_mime_addpart(mime);
      curl_mime_data(p, data.data(), data.size());
      std::string filename = GetString(a, "filename", "attachment-" + std::to_string(i + 1));
      curl_mime_filename(p, filename.c_str());
      curl_mime_type(p, GetString(a, "content_type", "application/octet-stream").c_str());
      curl_mime_encoder(p, "base64");
    }
    curl_easy_setopt(h, CURLOPT_MIMEPOST, mime);
    CURLcode rc = t.Perform();
    curl_mime_free(mime);
    if (rc != CURLE_OK) {
      for (const auto& r : readers)
        if (r->error())
          return FileFailure(*r->error(), redact("sending mail through " + BaseUrl(c) +
                                                 ": attaching " + r->file().id));
      ActionOutcome o = t.Failure(rc, "sending mail through " + BaseUrl(c));
      if (rc == CURLE_LOGIN_DENIED)
        o.error->message = "sending mail through " + BaseUrl(c) + ": the server refused the login";
      o.error->message = redact(o.error->message);
      return o;
    }
    ctx.log("info",
            "sent " + message_id + " to " + std::to_string(recipients.size()) + " recipients");
    return ActionOutcome::Ok(Json{{"message_id", message_id}, {"recipients", recipients}});
  }
};

ConnectionTestResult TestSmtp(const Connection& c, Clock& clock) {
  std::atomic<bool> cancelled{false};
  CallEnv env{clock, clock.Now() + Millis(15'000), cancelled};
  Transfer t(env, false);
  CURL* h = t.handle();
  curl_easy_setopt(h, CURLOPT_URL, BaseUrl(c).c_str());
  Configure(h, c);
  curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, "NOOP");
  curl_easy_setopt(h, CURLOPT_NOBODY, 1L);
  CURLcode rc = t.Perform();
  Redactor redact(c, Spec());
  if (rc != CURLE_OK) return {false, redact(t.Failure(rc, BaseUrl(c)).error->message)};
  return {true, "connected to " + BaseUrl(c) +
                    (GetString(c.auth, "type") == "login" ? " and logged in" : "")};
}

}  // namespace

void RegisterSmtp(ActionCatalog& catalog) {
  catalog.Register(Spec(), {{"send", std::make_shared<SendAction>()}}, &TestSmtp);
}

}  // namespace weft::connectors
