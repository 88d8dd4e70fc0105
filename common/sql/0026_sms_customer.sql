-- EQMS schema 26: customer messages (issue 13 item 3; docs/alerts.md,
-- "Customer messages"): which service number belongs to which branch, the
-- keywords customers text for a ticket, the inbound SMS (one row per
-- gateway message id: a gateway retry never issues a second ticket), and
-- the notices sent on tickets ("your turn is near", "please go to window
-- N"), one per ticket and kind.
-- It only adds tables.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Configuration (web-api will edit it; until then SQL, docs/alerts.md)

CREATE TABLE sms_branch (
    branch_id      bigint PRIMARY KEY CONSTRAINT sms_branch_node_fk
                       REFERENCES org_node (id) ON DELETE CASCADE,
    service_number text CONSTRAINT sms_branch_service_number_format
                       CHECK (service_number ~ '^[0-9]{3,20}$')
                       CONSTRAINT sms_branch_service_number_unique UNIQUE,
    daily_limit    int NOT NULL DEFAULT 5 CONSTRAINT sms_branch_daily_limit_range
                       CHECK (daily_limit BETWEEN 0 AND 100),
    near_ahead     int NOT NULL DEFAULT 3 CONSTRAINT sms_branch_near_ahead_range
                       CHECK (near_ahead BETWEEN 0 AND 50),
    call_notice    boolean NOT NULL DEFAULT true
);
COMMENT ON TABLE sms_branch IS
    'Owner: web-api (sms-notifier reads it). Customer messages of a branch: '
    'service_number is the number customers text for a ticket (the gateway''s '
    'receiver; NULL: none), daily_limit the tickets one phone may take by SMS '
    'per branch-local day, near_ahead how many tickets ahead trigger "your '
    'turn is near" (0: never), call_notice whether a call is told by SMS. A '
    'branch without a row: no service number, 5, 3, true.';

CREATE TABLE sms_keyword (
    node_id     bigint NOT NULL CONSTRAINT sms_keyword_node_fk
                    REFERENCES org_node (id) ON DELETE CASCADE,
    keyword     text NOT NULL CONSTRAINT sms_keyword_format
                    CHECK (btrim(keyword) = keyword AND keyword <> ''
                           AND char_length(keyword) <= 16 AND keyword !~ '\s'),
    service_id  bigint NOT NULL CONSTRAINT sms_keyword_service_fk
                    REFERENCES service (id) ON DELETE CASCADE,
    CONSTRAINT sms_keyword_pk PRIMARY KEY (node_id, keyword)
);
COMMENT ON TABLE sms_keyword IS
    'Owner: web-api (sms-notifier reads it). A word customers text for a '
    'ticket of a service, at a node and its whole subtree (the deepest node '
    'wins). Matched case-insensitively, full-width letters and digits as '
    'their ASCII forms. Besides these, every service answers to its code '
    'and each queue to its letter (its first active service).';

-- ---------------------------------------------------------------------------
-- Inbound SMS and notices (sms-notifier)

CREATE TABLE sms_inbound (
    id             uuid PRIMARY KEY,
    provider       text NOT NULL,
    message_id     text NOT NULL,
    received_at    timestamptz NOT NULL DEFAULT now(),
    claimed_at     timestamptz NOT NULL DEFAULT now(),
    attempts       int NOT NULL DEFAULT 1,
    phone          text NOT NULL CONSTRAINT sms_inbound_phone_e164
                       CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    service_number text NOT NULL,
    body           text NOT NULL,
    branch_id      bigint NOT NULL,
    day            int NOT NULL,
    keyword        text NOT NULL DEFAULT '',
    service_id     bigint,
    state          text NOT NULL DEFAULT 'issuing' CONSTRAINT sms_inbound_state_valid
                       CHECK (state IN ('issuing', 'issued', 'unknown_keyword',
                                        'over_limit', 'over_limit_silent', 'refused')),
    ticket_id      uuid,
    ticket_number  text,
    reason         text NOT NULL DEFAULT '',
    CONSTRAINT sms_inbound_message_unique UNIQUE (provider, message_id)
);
CREATE INDEX sms_inbound_phone_day_idx ON sms_inbound (phone, day);
COMMENT ON TABLE sms_inbound IS
    'Owner: sms-notifier. One row per inbound SMS, keyed by the gateway''s '
    'message id, written before its ticket is asked for: issuing (claimed '
    'at claimed_at; the ticket is issued with actor sms:<id>, so a retry '
    'after a crash finds it), then issued, unknown_keyword, over_limit '
    '(refused with a reply), over_limit_silent (refused without one) or '
    'refused (queue-manager said no; reason). day is branch-local yyyymmdd.';

CREATE TABLE sms_notice (
    ticket_id   uuid NOT NULL,
    kind        text NOT NULL CONSTRAINT sms_notice_kind_valid
                    CHECK (kind IN ('near', 'called')),
    branch_id   bigint NOT NULL,
    sms_id      uuid,
    at          timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_notice_pk PRIMARY KEY (ticket_id, kind)
);
COMMENT ON TABLE sms_notice IS
    'Owner: sms-notifier. The notices of a ticket with a phone, one per kind '
    '(near: "your turn is near", called: "please go to window N"), written '
    'with their SMS row (sms_id; NULL when none could be sent, e.g. a phone '
    'that is not a mobile number) and the cursor over ticket_event.';
