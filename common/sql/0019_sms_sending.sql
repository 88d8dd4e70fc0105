-- EQMS schema 19: what sms-notifier's sender and delivery reports need
-- (docs/alerts.md, "Sending"): a secret per SMS that its delivery report
-- must carry, and when the last report came.
-- It only adds columns.
-- compatibility: expand

ALTER TABLE sms_outbox
    ADD COLUMN dlr_token uuid NOT NULL DEFAULT gen_random_uuid(),
    ADD COLUMN reported_at timestamptz;
COMMENT ON COLUMN sms_outbox.dlr_token IS
    'Secret of this SMS, put in the delivery-report URL given to the gateway: '
    'a report without it changes nothing.';
COMMENT ON COLUMN sms_outbox.reported_at IS
    'When the gateway last reported on this SMS (any report type).';
COMMENT ON COLUMN sms_outbox.next_at IS
    'queued: when the sender may try it next; the sender also moves it ahead '
    'while it holds the row (a lease), so that a sender that died leaves it '
    'to be tried again.';
