-- KPI: the retention matrix behind the cohort heatmap. For each cohort (the players whose
-- first active day, over all history up to :end, is the cohort day) with a cohort day in
-- [:start, :end] ('YYYY-MM-DD', at most 126 days: older cohorts are not returned) and each
-- day 1..30 after it up to the last day with any event (up to :end): the cohort's size
-- and how many of its players were active that day. Days not known yet have no row.
-- Player-days are duplicate-insensitive (a resent event adds no player-day). Same bits
-- as kpi/retention (fragments/player_days.sql over every day up to :end: bit k of `recent`
-- = played on :end - k, of `earlier` = on :end - 63 - k).
-- Optional application filter: :application_id ('' = every application).
WITH players AS (
    ${player_days}
),
last_day AS (
    SELECT min(last_age) AS age
    FROM players
),
played AS (
    -- every cohort player once per known day: the group's count is the cohort's size
    SELECT p.first_age,
           t.n,
           count(*) AS size,
           count_if(bitwise_and(CASE WHEN p.first_age - t.n < 63 THEN p.recent ELSE p.earlier END,
                                CAST(power(2, (p.first_age - t.n) % 63) AS bigint)) <> 0)
               AS players
    FROM players AS p
    CROSS JOIN last_day AS l
    CROSS JOIN UNNEST(sequence(1, 30)) AS t (n)
    WHERE p.first_age <= least(date_diff('day', date(:start), date(:end)), 125)
      AND p.first_age - t.n >= l.age
    GROUP BY p.first_age, t.n
)
SELECT date_format(date_add('day', -first_age, date(:end)), '%Y-%m-%d') AS cohort,
       size,
       n AS day,
       players
FROM played
ORDER BY cohort, day
