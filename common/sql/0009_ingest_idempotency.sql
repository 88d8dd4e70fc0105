-- EQMS schema 9: rating-ingest is idempotent on the gateway envelope id,
-- whatever the event's other fields say (docs/protocol.md, "rating-ingest
-- messages", "Exactly once").
--
-- The keys of rating and service_record had to contain their partition key
-- (event time), so one envelope id with two event times made two rows; and
-- rating, service_record, staff_session and rejected_event each had their
-- own key, so one id could be a rating and a rejected event, or a rating
-- and a logout. Now every event rating-ingest decides registers its
-- envelope id in ingest_event, in the transaction that writes its outcome;
-- an id already there is a duplicate and writes nothing anywhere.
--
-- ingest_event is range-partitioned by the id itself: the ids are UUIDv7,
-- whose first 48 bits are the ms of their creation, so each month of ids is
-- one contiguous range (eqms_uuid7_floor gives its bound) and old months
-- can be dropped as whole partitions. Its one index is appended at its
-- right-hand edge.
--
-- Hot-path cost: one 16-byte row and one index entry per event. In
-- exchange the (gateway, gateway_incarnation, gateway_seq, time) unique keys
-- of rating and service_record go: the envelope id is the idempotency key
-- (docs/protocol.md: consumers deduplicate on the id, never on (src, seq)),
-- and rating-ingest's cursor already filters a gateway's repeated seqs.
--
-- Not an expand migration: a rating-ingest built for schema 8 would write
-- facts without registering their ids.

CREATE FUNCTION eqms_uuid7_floor(t timestamptz) RETURNS uuid
LANGUAGE sql IMMUTABLE STRICT AS $$
    SELECT (substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-0000-0000-000000000000')::uuid
    FROM (SELECT lpad(to_hex(floor(extract(epoch FROM t) * 1000)::bigint), 12, '0') AS h) x
$$;
COMMENT ON FUNCTION eqms_uuid7_floor(timestamptz) IS
    'The smallest uuid whose UUIDv7 time is t (ms): every UUIDv7 made at or '
    'after t sorts at or above it. Bounds of id-range partitions.';

CREATE TABLE ingest_event (
    id uuid NOT NULL,
    CONSTRAINT ingest_event_pk PRIMARY KEY (id)
) PARTITION BY RANGE (id);

COMMENT ON TABLE ingest_event IS
    'Owner: rating-ingest. The envelope id of every gateway event it has '
    'decided (stored as a fact, recorded in rejected_event, or only '
    'acknowledged), written in the same transaction: an event whose id is '
    'here is a duplicate whatever its other fields say. Partitioned by '
    'month of the id''s UUIDv7 time (eqms_ensure_partitions).';

ALTER TABLE rating DROP CONSTRAINT rating_gateway_seq_unique;
ALTER TABLE service_record DROP CONSTRAINT service_record_gateway_seq_unique;

CREATE OR REPLACE FUNCTION eqms_ensure_partitions(months_ahead int) RETURNS int
LANGUAGE plpgsql AS $$
DECLARE
    first_month timestamp := date_trunc('month', now() AT TIME ZONE 'UTC')
                             - interval '1 month';
    m timestamp;
    t text;
    created int := 0;
BEGIN
    IF months_ahead < 0 OR months_ahead > 36 THEN
        RAISE EXCEPTION 'months_ahead must be 0..36, got %', months_ahead;
    END IF;
    FOREACH t IN ARRAY ARRAY['rating', 'service_record', 'ticket', 'ticket_event',
                             'ingest_event'] LOOP
        IF to_regclass(t || '_default') IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I DEFAULT',
                           t || '_default', t);
        END IF;
        FOR i IN 0 .. months_ahead + 1 LOOP
            m := first_month + make_interval(months => i);
            IF to_regclass(t || '_' || to_char(m, 'YYYY"m"MM')) IS NULL THEN
                IF t = 'ingest_event' THEN
                    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES '
                                   'FROM (%L) TO (%L)',
                                   t || '_' || to_char(m, 'YYYY"m"MM'), t,
                                   eqms_uuid7_floor(m AT TIME ZONE 'UTC'),
                                   eqms_uuid7_floor((m + interval '1 month')
                                                    AT TIME ZONE 'UTC'));
                ELSE
                    EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES '
                                   'FROM (%L) TO (%L)',
                                   t || '_' || to_char(m, 'YYYY"m"MM'), t,
                                   (m AT TIME ZONE 'UTC'),
                                   ((m + interval '1 month') AT TIME ZONE 'UTC'));
                END IF;
                created := created + 1;
            END IF;
        END LOOP;
    END LOOP;
    RETURN created;
END
$$;
COMMENT ON FUNCTION eqms_ensure_partitions(int) IS
    'Creates the monthly partitions of rating, service_record, ticket and '
    'ticket_event (UTC months of their time) and of ingest_event (UTC months '
    'of the ids'' UUIDv7 time) from last month to months_ahead months after '
    'this one, and a DEFAULT partition for anything outside. Returns how many '
    'it created. Called by migrations, rating-ingest and queue-manager at '
    'start and daily.';

SELECT eqms_ensure_partitions(3);

-- The ids already decided (a default partition takes those of older months).
INSERT INTO ingest_event (id)
SELECT id FROM rating
UNION SELECT id FROM service_record
UNION SELECT id FROM staff_session
UNION SELECT logout_id FROM staff_session WHERE logout_id IS NOT NULL
UNION SELECT id FROM rejected_event
ON CONFLICT DO NOTHING;
