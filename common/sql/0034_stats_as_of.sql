-- EQMS schema 34: the statistics of one instant (issue 15: a view's file
-- holds the figures of the page it was exported from). A staff session
-- still open counts as on duty up to now, so a page read at 10:00:00 and
-- its file made at 10:00:40 differed by 40 s of on-duty time (and the
-- measures made of it). A reader that sets eqms.as_of (a timestamptz, in
-- its transaction: set_config('eqms.as_of', ..., true)) gets the open
-- sessions counted up to that instant instead, never past now; without
-- it, up to now as before. web-api answers each figures view with the
-- instant it was computed at (as_of) and takes it back for the files.
-- It only replaces stats_open_duty (same signature and result) and adds
-- stats_as_of().
-- compatibility: expand

CREATE FUNCTION stats_as_of() RETURNS timestamptz
LANGUAGE sql STABLE PARALLEL SAFE AS $$
    SELECT date_trunc('milliseconds',
                      least(coalesce(nullif(current_setting('eqms.as_of', true),
                                            '')::timestamptz, now()), now()))
$$;
COMMENT ON FUNCTION stats_as_of() IS
    'The instant open staff sessions are counted up to: the eqms.as_of setting '
    'of the transaction when set (never past now), else now; in whole '
    'milliseconds, as answers write it.';

CREATE OR REPLACE FUNCTION stats_open_duty(from_ts timestamptz, to_ts timestamptz)
RETURNS TABLE (branch_id bigint, window_id bigint, staff_id bigint, ms bigint)
LANGUAGE sql STABLE AS $$
    SELECT o.branch_id, s.window_id, s.staff_id,
           (extract(epoch FROM least(stats_as_of(), to_ts) - greatest(s.login_at, from_ts))
            * 1000)::bigint
    FROM stats_open_session o JOIN staff_session s ON s.id = o.session_id
    WHERE s.logout_at IS NULL AND s.login_at < least(stats_as_of(), to_ts)
$$;
