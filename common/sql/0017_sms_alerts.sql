-- EQMS schema 17: sms-notifier's tables (issue 13; docs/alerts.md): alert
-- rules and recipients per organisation node, alerts and their events, the
-- SMS outbox with delivery reports, and the notifier's durable cursor.
-- It only adds tables.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Configuration (web-api will edit it; until then SQL, docs/alerts.md)

CREATE TABLE alert_rule (
    node_id     bigint NOT NULL CONSTRAINT alert_rule_node_fk
                    REFERENCES org_node (id) ON DELETE CASCADE,
    kind        text NOT NULL CONSTRAINT alert_rule_kind_valid
                    CHECK (kind IN ('unsatisfied_rating')),
    enabled     boolean NOT NULL DEFAULT true,
    template    text NOT NULL CONSTRAINT alert_rule_template_fits
                    CHECK (btrim(template) <> '' AND char_length(template) <= 500),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT alert_rule_pk PRIMARY KEY (node_id, kind)
);
COMMENT ON TABLE alert_rule IS
    'Owner: web-api (sms-notifier reads it). An alert rule of a node, inherited '
    'by its whole subtree: for a fact at a branch, the rule of the deepest node '
    'on the branch''s path with a row of that kind applies (enabled false '
    'switches it off below that node). template is the SMS text with '
    '{placeholders} (docs/alerts.md lists them; sms-notifier refuses a rule '
    'naming an unknown one, with its reason in the log).';

CREATE TABLE alert_recipient (
    id          bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    node_id     bigint NOT NULL CONSTRAINT alert_recipient_node_fk
                    REFERENCES org_node (id) ON DELETE CASCADE,
    name        text NOT NULL CONSTRAINT alert_recipient_name_present
                    CHECK (btrim(name) <> '' AND char_length(name) <= 64),
    phone       text NOT NULL CONSTRAINT alert_recipient_phone_e164
                    CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    subtree     boolean NOT NULL DEFAULT false,
    kinds       text[] NOT NULL DEFAULT '{unsatisfied_rating}',
    complaint_details boolean NOT NULL DEFAULT false,
    active      boolean NOT NULL DEFAULT true,
    CONSTRAINT alert_recipient_unique UNIQUE (node_id, phone)
);
CREATE INDEX alert_recipient_node_idx ON alert_recipient (node_id);
COMMENT ON TABLE alert_recipient IS
    'Owner: web-api (sms-notifier reads it). Who is told of the alerts of a '
    'node: a recipient at a branch gets that branch''s alerts; at a higher '
    'node, the alerts of its whole subtree only with subtree = true. kinds '
    'are the alert kinds wanted; complaint_details allows the text of a '
    'complaint. phone is E.164 with the plus sign.';

-- ---------------------------------------------------------------------------
-- Alerts

CREATE TABLE alert (
    id          uuid PRIMARY KEY,
    kind        text NOT NULL,
    branch_id   bigint NOT NULL,
    window_id   bigint,
    staff_id    bigint,
    fact        text NOT NULL,
    state       text NOT NULL DEFAULT 'open' CONSTRAINT alert_state_valid
                    CHECK (state IN ('open', 'acknowledged', 'resolved')),
    opened_at   timestamptz NOT NULL,
    facts       jsonb NOT NULL,
    CONSTRAINT alert_fact_unique UNIQUE (kind, fact)
);
CREATE INDEX alert_branch_opened_idx ON alert (branch_id, opened_at);
COMMENT ON TABLE alert IS
    'Owner: sms-notifier. One alert: kind, where, the fact that raised it '
    '(for unsatisfied_rating the rating id: one alert per fact, whatever '
    'replays bring), its state and the facts its messages were made of.';

CREATE TABLE alert_event (
    alert_id    uuid NOT NULL CONSTRAINT alert_event_alert_fk
                    REFERENCES alert (id) ON DELETE CASCADE,
    at          timestamptz NOT NULL DEFAULT now(),
    kind        text NOT NULL CONSTRAINT alert_event_kind_valid
                    CHECK (kind IN ('opened', 'acknowledged', 'resolved', 'reminded',
                                    'escalated')),
    actor       text NOT NULL,
    note        text NOT NULL DEFAULT ''
);
CREATE INDEX alert_event_alert_idx ON alert_event (alert_id, at);
COMMENT ON TABLE alert_event IS
    'Owner: sms-notifier. Every step of an alert''s life, who took it and why.';

-- ---------------------------------------------------------------------------
-- SMS outbox

CREATE TABLE sms_outbox (
    id           uuid PRIMARY KEY,
    alert_id     uuid CONSTRAINT sms_outbox_alert_fk REFERENCES alert (id)
                     ON DELETE SET NULL,
    recipient_id bigint,
    phone        text NOT NULL CONSTRAINT sms_outbox_phone_e164
                     CHECK (phone ~ '^\+[1-9][0-9]{6,14}$'),
    body         text NOT NULL,
    state        text NOT NULL DEFAULT 'queued' CONSTRAINT sms_outbox_state_valid
                     CHECK (state IN ('queued', 'accepted', 'delivered', 'failed')),
    attempts     int NOT NULL DEFAULT 0,
    next_at      timestamptz NOT NULL DEFAULT now(),
    created_at   timestamptz NOT NULL DEFAULT now(),
    accepted_at  timestamptz,
    delivered_at timestamptz,
    provider     text,
    last_error   text NOT NULL DEFAULT '',
    dlr_status   int
);
CREATE INDEX sms_outbox_due_idx ON sms_outbox (next_at) WHERE state = 'queued';
COMMENT ON TABLE sms_outbox IS
    'Owner: sms-notifier. Every SMS to send, written in the transaction that '
    'decided it: queued until the gateway accepts it (attempts, next_at: retry '
    'with backoff; failed after the last attempt or a permanent refusal), '
    'then accepted, then delivered or failed by the delivery report '
    '(dlr_status: the gateway''s report type).';

-- ---------------------------------------------------------------------------
-- Cursor

CREATE TABLE sms_cursor (
    source      text NOT NULL,
    stream      text NOT NULL,
    position    bigint NOT NULL CONSTRAINT sms_cursor_position_nonnegative
                    CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT sms_cursor_pk PRIMARY KEY (source, stream)
);
COMMENT ON TABLE sms_cursor IS
    'Owner: sms-notifier. How far each stream of facts has been turned into '
    'alerts, moved in the transaction that wrote them: rating-ingest''s facts '
    'per gateway journal (source gateway, stream "<gateway>/<incarnation>", '
    'position = seq).';
