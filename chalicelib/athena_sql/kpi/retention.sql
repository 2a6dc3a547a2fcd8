-- KPI: retention cohorts. A cohort is the players whose first active day (first UTC day
-- with any valid event, over all history up to :end) is the cohort day, for cohort days
-- in [:start, :end] ('YYYY-MM-DD', at most 126 days: older cohorts are not returned).
-- size = the cohort's players; d1 / d7 / d30 = those active again on cohort day + 1 / 7 /
-- 30, NULL when that day is after the last day with any event (up to :end): not known
-- yet, unlike 0. Player-days are duplicate-insensitive (a resent event adds no player-day).
-- Speed: as kpi/daily, one aggregate per player (fragments/player_days.sql over every day
-- up to :end) keeps their first active day (as its age in days before :end) and the days
-- they played in the last 126 days as bits of two bigints (bit k of `recent` = played on
-- :end - k, of `earlier` = on :end - 63 - k).
-- Optional application filter: :application_id ('' = every application).
WITH players AS (
    ${player_days}
),
last_day AS (
    SELECT min(last_age) AS age
    FROM players
),
returns AS (
    -- whether each cohort player played on day +1, +7, +30 (age first_age - n)
    SELECT p.first_age,
           r.n,
           p.first_age - r.n >= l.age AS known,
           bitwise_and(CASE WHEN p.first_age - r.n < 63 THEN p.recent ELSE p.earlier END,
                       CAST(power(2, greatest(p.first_age - r.n, 0) % 63) AS bigint)) <> 0
               AND p.first_age - r.n >= 0 AS played
    FROM players AS p
    CROSS JOIN last_day AS l
    CROSS JOIN UNNEST(ARRAY[1, 7, 30]) AS r (n)
    WHERE p.first_age <= least(date_diff('day', date(:start), date(:end)), 125)
)
SELECT date_format(date_add('day', -first_age, date(:end)), '%Y-%m-%d') AS cohort,
       count_if(n = 1) AS size,
       CASE WHEN bool_and(known OR n <> 1) THEN count_if(n = 1 AND played) END AS d1,
       CASE WHEN bool_and(known OR n <> 7) THEN count_if(n = 7 AND played) END AS d7,
       CASE WHEN bool_and(known OR n <> 30) THEN count_if(n = 30 AND played) END AS d30
FROM returns
GROUP BY first_age
ORDER BY cohort
