-- EQMS schema 8: gateway journal incarnations (docs/protocol.md, "Journal
-- incarnation"). A device gateway whose journal is lost starts a new one
-- numbered from 1 again under a new incarnation id, so a gateway's seq is
-- unique only within (gateway, incarnation):
--   * gateway_cursor is keyed on (gateway, incarnation);
--   * the facts keep the incarnation next to gateway and gateway_seq, and
--     their (gateway, gateway_seq) unique keys take it in, so seq 5 of a new
--     incarnation never collides with seq 5 of an old one.
-- Rows written before have the nil incarnation, which is also the
-- incarnation of a journal written before incarnations existed (its
-- numbering goes on unchanged). The defaults are dropped afterwards: a
-- writer must name the incarnation.
-- Not an expand migration: gateway_cursor's key changes, and rating-ingest
-- built for schema 7 writes its cursor ON CONFLICT (gateway).

ALTER TABLE gateway_cursor
    ADD COLUMN incarnation uuid NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE gateway_cursor DROP CONSTRAINT gateway_cursor_pkey;
ALTER TABLE gateway_cursor ADD CONSTRAINT gateway_cursor_pkey
    PRIMARY KEY (gateway, incarnation);
ALTER TABLE gateway_cursor ALTER COLUMN incarnation DROP DEFAULT;
COMMENT ON TABLE gateway_cursor IS
    'Owner: rating-ingest. Per gateway journal (envelope src, incarnation): '
    'every event with seq <= upto is committed as a fact or a rejected_event; '
    'the value acknowledged on ack.ingest.<branch>.';

ALTER TABLE rating
    ADD COLUMN gateway_incarnation uuid NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE rating DROP CONSTRAINT rating_gateway_seq_unique;
ALTER TABLE rating ADD CONSTRAINT rating_gateway_seq_unique
    UNIQUE (gateway, gateway_incarnation, gateway_seq, event_time);
ALTER TABLE rating ALTER COLUMN gateway_incarnation DROP DEFAULT;

ALTER TABLE service_record
    ADD COLUMN gateway_incarnation uuid NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE service_record DROP CONSTRAINT service_record_gateway_seq_unique;
ALTER TABLE service_record ADD CONSTRAINT service_record_gateway_seq_unique
    UNIQUE (gateway, gateway_incarnation, gateway_seq, ended_at);
ALTER TABLE service_record ALTER COLUMN gateway_incarnation DROP DEFAULT;

ALTER TABLE staff_session
    ADD COLUMN gateway_incarnation uuid NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000000';
ALTER TABLE staff_session DROP CONSTRAINT staff_session_gateway_seq_unique;
ALTER TABLE staff_session ADD CONSTRAINT staff_session_gateway_seq_unique
    UNIQUE (gateway, gateway_incarnation, gateway_seq);
ALTER TABLE staff_session ALTER COLUMN gateway_incarnation DROP DEFAULT;

ALTER TABLE rejected_event
    ADD COLUMN gateway_incarnation uuid NOT NULL
        DEFAULT '00000000-0000-0000-0000-000000000000';
DROP INDEX rejected_event_gateway_idx;
CREATE INDEX rejected_event_gateway_idx
    ON rejected_event (gateway, gateway_incarnation, gateway_seq);
ALTER TABLE rejected_event ALTER COLUMN gateway_incarnation DROP DEFAULT;

COMMENT ON COLUMN rating.gateway_incarnation IS
    'The incarnation of the gateway journal that numbered gateway_seq.';
COMMENT ON COLUMN service_record.gateway_incarnation IS
    'The incarnation of the gateway journal that numbered gateway_seq.';
COMMENT ON COLUMN staff_session.gateway_incarnation IS
    'The incarnation of the gateway journal that numbered gateway_seq.';
COMMENT ON COLUMN rejected_event.gateway_incarnation IS
    'The incarnation of the gateway journal that numbered gateway_seq (nil '
    'when the event named none).';
