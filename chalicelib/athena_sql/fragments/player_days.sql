-- Fragment player_days, the KPIs' players (chalicelib/statements.py fills it in): one row
-- per player with events on the days its record's `days` keeps (a condition on dt, up to
-- :end) in the application asked about (:application_id, '' = every one). first_age /
-- last_age: their first / last of those days as its age in days before :end (the first
-- active day when every day up to :end is read); the days they played in the 126 days
-- ending :end as the bits of two bigints: bit k of `recent` = played on :end - k, of
-- `earlier` = on :end - 63 - k (the sign bit stays unused). Duplicate-insensitive: a
-- resent event adds no player-day. Athena and DuckDB drop the columns a KPI does not read.
SELECT max(age) AS first_age,
       min(age) AS last_age,
       bitwise_or_agg(CASE WHEN age < 63 THEN CAST(power(2, age) AS bigint) ELSE 0 END)
           AS recent,
       bitwise_or_agg(CASE WHEN age BETWEEN 63 AND 125
                           THEN CAST(power(2, age - 63) AS bigint) ELSE 0 END) AS earlier
FROM (
    SELECT userid,
           date_diff('day', date(dt), date(:end)) AS age
    FROM events
    WHERE ${days}
      AND (:application_id = '' OR application_id = :application_id)
) AS ages
GROUP BY userid
