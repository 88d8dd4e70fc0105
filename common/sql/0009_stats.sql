-- EQMS schema: stats-aggregator's tables (docs/statistics.md). It only adds:
-- new tables, functions, an optional column and indexes for its readers.
-- compatibility: expand

-- ---------------------------------------------------------------------------
-- Reason categories of rating options (web-api configures them)

ALTER TABLE rating_option
    ADD COLUMN category text NOT NULL DEFAULT 'none'
        CONSTRAINT rating_option_category_valid
        CHECK (category IN ('none', 'attitude', 'efficiency', 'skill',
                            'environment', 'other'));
COMMENT ON COLUMN rating_option.category IS
    'Why a customer chose the option, for "unsatisfied by reason": attitude, '
    'efficiency, skill, environment, other, or none (a plain grade).';

-- ---------------------------------------------------------------------------
-- Readers' indexes on rating-ingest's facts: stats-aggregator reads each
-- gateway journal's facts in seq order up to its committed cursor.

CREATE INDEX rating_gateway_seq_idx
    ON rating (gateway, gateway_incarnation, gateway_seq);
CREATE INDEX service_record_gateway_seq_idx
    ON service_record (gateway, gateway_incarnation, gateway_seq);

-- ---------------------------------------------------------------------------
-- The tree as it was

CREATE TABLE stats_node_version (
    node_id     bigint NOT NULL,
    valid_from  timestamptz NOT NULL,
    valid_to    timestamptz NOT NULL DEFAULT 'infinity',
    path        ltree NOT NULL,
    ancestors   bigint[] NOT NULL,
    time_zone   text NOT NULL,
    CONSTRAINT stats_node_version_pk PRIMARY KEY (node_id, valid_from),
    CONSTRAINT stats_node_version_order CHECK (valid_to > valid_from)
);
COMMENT ON TABLE stats_node_version IS
    'Owner: stats-aggregator. Each organisation node as it was from valid_from '
    'to valid_to: its path, its ancestors'' ids from the root down to itself, '
    'its time zone. A fact belongs to the ancestors of its branch as the tree '
    'was at the fact''s time (docs/statistics.md, "Periods and the tree").';

-- ---------------------------------------------------------------------------
-- Cursors

CREATE TABLE stats_cursor (
    source      text NOT NULL
                    CONSTRAINT stats_cursor_source_valid
                    CHECK (source IN ('ticket_event', 'gateway')),
    stream      text NOT NULL,
    position    bigint NOT NULL CONSTRAINT stats_cursor_position_nonnegative
                    CHECK (position >= 0),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stats_cursor_pk PRIMARY KEY (source, stream)
);
COMMENT ON TABLE stats_cursor IS
    'Owner: stats-aggregator. How far each stream of facts has been turned '
    'into figures, moved in the transaction that wrote them: ticket_event '
    'per branch (stream = branch id, position = seq), rating-ingest''s facts '
    'per gateway journal (stream = gateway "/" incarnation, position = seq).';

-- ---------------------------------------------------------------------------
-- Ticket legs

CREATE TABLE stats_leg (
    ticket_id    uuid NOT NULL,
    leg          smallint NOT NULL,
    branch_id    bigint NOT NULL,
    service_id   bigint NOT NULL,
    class        smallint NOT NULL,
    origin       smallint NOT NULL,
    start_at     timestamptz NOT NULL,
    target_s     int NOT NULL,
    call_at      timestamptz,
    window_id    bigint,
    staff_id     bigint,
    started      boolean NOT NULL,
    serving_since timestamptz,
    serve_ms     bigint NOT NULL,
    outcome      smallint NOT NULL,
    outcome_at   timestamptz,
    CONSTRAINT stats_leg_pk PRIMARY KEY (ticket_id, leg)
);
CREATE INDEX stats_leg_branch_start_idx ON stats_leg (branch_id, start_at);
CREATE INDEX stats_leg_open_idx ON stats_leg (ticket_id) WHERE outcome = 0;
COMMENT ON TABLE stats_leg IS
    'Owner: stats-aggregator. Every ticket leg (docs/statistics.md, "Ticket '
    'legs") in its present state: origin 0 issued, 1 walk-in, 2 transfer; '
    'class 0 ordinary, 1 vip, 2 green; outcome 0 open, 1 served, 2 no-show, '
    '3 abandoned, 4 transferred. The exact percentiles of one branch''s day '
    'are computed from it.';

CREATE TABLE stats_open_session (
    session_id  uuid PRIMARY KEY,
    branch_id   bigint NOT NULL
);
COMMENT ON TABLE stats_open_session IS
    'Owner: stats-aggregator. Staff sessions seen open: their on-duty time is '
    'counted when they close.';

-- ---------------------------------------------------------------------------
-- Cells

CREATE TABLE stats_cell (
    node_id          bigint NOT NULL,
    period           smallint NOT NULL,   -- 0 hour 1 day 2 week 3 month 4 quarter 5 year
    start_day        date NOT NULL,       -- local date of the period's first day
    hour             smallint NOT NULL,   -- hour of that day (period 0), else 0
    dim              smallint NOT NULL,   -- 0 all 1 service 2 class 3 hour of day
                                          -- 4 window 5 teller 6 option
    member           bigint NOT NULL,     -- the dimension's member, 0 for all
    issued           bigint NOT NULL DEFAULT 0,
    walk_ins         bigint NOT NULL DEFAULT 0,
    transferred_in   bigint NOT NULL DEFAULT 0,
    served           bigint NOT NULL DEFAULT 0,
    no_show          bigint NOT NULL DEFAULT 0,
    abandoned        bigint NOT NULL DEFAULT 0,
    transferred      bigint NOT NULL DEFAULT 0,
    wait_n           bigint NOT NULL DEFAULT 0,
    wait_sum_ms      bigint NOT NULL DEFAULT 0,
    sl_served        bigint NOT NULL DEFAULT 0,
    sl_served_in     bigint NOT NULL DEFAULT 0,
    sl_abandoned_in  bigint NOT NULL DEFAULT 0,
    svc_n            bigint NOT NULL DEFAULT 0,
    svc_sum_ms       bigint NOT NULL DEFAULT 0,
    rated            bigint NOT NULL DEFAULT 0,
    satisfied        bigint NOT NULL DEFAULT 0,
    unsatisfied      bigint NOT NULL DEFAULT 0,
    score_x10        bigint NOT NULL DEFAULT 0,
    services         bigint NOT NULL DEFAULT 0,
    serving_ms       bigint NOT NULL DEFAULT 0,
    on_duty_ms       bigint NOT NULL DEFAULT 0,
    wait_max_ms      bigint NOT NULL DEFAULT 0,
    svc_max_ms       bigint NOT NULL DEFAULT 0,
    categories       bigint[],            -- ratings per category (st_category_t order)
    wait_hist        int[],               -- st_hist buckets, trailing zeros cut
    svc_hist         int[],
    CONSTRAINT stats_cell_pk PRIMARY KEY (node_id, period, start_day, hour, dim, member)
);
COMMENT ON TABLE stats_cell IS
    'Owner: stats-aggregator. The summable parts of every measure for one '
    'node, period and dimension member (docs/statistics.md, "How the figures '
    'are kept"). Read through the stats_* functions.';

-- ---------------------------------------------------------------------------
-- Facts that could not be placed

CREATE TABLE stats_unplaced (
    source      text NOT NULL,
    fact        text NOT NULL,
    reason      text NOT NULL,
    seen_at     timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT stats_unplaced_pk PRIMARY KEY (source, fact)
);
COMMENT ON TABLE stats_unplaced IS
    'Owner: stats-aggregator. A fact it could not place in the figures (an '
    'unknown window or branch, a time far in the future, an event of a '
    'ticket it never saw issued), with the reason: counted in its metrics '
    'and listed for web-api, never silently skipped.';
