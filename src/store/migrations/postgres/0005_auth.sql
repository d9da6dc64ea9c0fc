-- Access control: users, API tokens and UI sessions. Secrets are
-- kept only as hashes: a password as its Argon2id string, a token and a
-- session id as the hex BLAKE2b-256 of the value the client holds.
CREATE TABLE users (
  id            text COLLATE "C" PRIMARY KEY,
  username      text NOT NULL UNIQUE,
  password_hash text NOT NULL,
  role          text NOT NULL,
  created_at    bigint NOT NULL
);
CREATE TABLE api_tokens (
  id           text COLLATE "C" PRIMARY KEY,
  name         text NOT NULL,
  role         text NOT NULL,
  prefix       text NOT NULL,
  hash         text COLLATE "C" NOT NULL UNIQUE,
  created_at   bigint NOT NULL,
  created_by   text NOT NULL DEFAULT '',
  expires_at   bigint,
  last_used_at bigint
);
CREATE TABLE sessions (
  id_hash      text COLLATE "C" PRIMARY KEY,
  user_id      text COLLATE "C" NOT NULL REFERENCES users(id) ON DELETE CASCADE,
  created_at   bigint NOT NULL,
  last_seen_at bigint NOT NULL,
  expires_at   bigint NOT NULL
);
CREATE INDEX sessions_by_user ON sessions (user_id);
CREATE INDEX sessions_by_last_seen ON sessions (last_seen_at);
