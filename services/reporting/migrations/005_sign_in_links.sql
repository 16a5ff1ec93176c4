-- One-time sign-in links mailed to people of the province configuration (through
-- notify, on sign-in.link.v1). Only the SHA-256 of the link's code is kept; a link is
-- used once (used_at) and dies at expires_at (15 minutes after it was asked for). The
-- role it signs in as is decided when it is asked for and checked again when used.
CREATE TABLE sign_in_links (
    link_hash    bytea       PRIMARY KEY,
    request_id   uuid        NOT NULL,
    kind         text        NOT NULL,  -- auth.tokens kind of the session's token
    subject_id   text        NOT NULL,  -- agency or member id the session acts as
    recipient_id text        NOT NULL,  -- the person (or agency) the link was mailed to
    role         text        NOT NULL,  -- agency, member, permanent_deputy, head
    province     text        NOT NULL,
    created_at   timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    used_at      timestamptz
);
CREATE INDEX sign_in_links_by_expiry ON sign_in_links (expires_at);
