-- EQMS schema 31: an alert rule gets an id of its own, so that web-api can
-- name one rule in a route (GET/PATCH/DELETE /api/v1/alert-rules/{id},
-- docs/openapi.yaml). The rule is still keyed by its node and kind
-- (alert_rule_pk); the id only names the row, and existing rows get one.
-- It only adds a column with a default and a unique constraint.
-- compatibility: expand

ALTER TABLE alert_rule
    ADD COLUMN id bigint GENERATED ALWAYS AS IDENTITY
        CONSTRAINT alert_rule_id_unique UNIQUE;
COMMENT ON COLUMN alert_rule.id IS
    'Names the rule in web-api''s routes; the key is still (node_id, kind).';
