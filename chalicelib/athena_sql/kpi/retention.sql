-- KPI: retention cohorts. A cohort is the players whose first active day (first UTC day
-- with any valid event, over all history up to :end) is the cohort day, for cohort days
-- in [:start, :end] ('YYYY-MM-DD'). size = the cohort's players; d1 / d7 / d30 = those
-- active again on cohort day + 1 / 7 / 30, NULL when that day is after the last day with
-- any event (up to :end): not known yet, unlike 0. Player-days are duplicate-insensitive
-- (a resent event adds no player-day).
WITH player_days AS (
    SELECT userid,
           dt
    FROM events
    WHERE dt <= :end
    GROUP BY userid, dt
),
cohorts AS (
    SELECT userid,
           min(dt) AS cohort
    FROM player_days
    GROUP BY userid
    HAVING min(dt) >= :start
),
last_day AS (
    SELECT date(max(dt)) AS day
    FROM player_days
),
ages AS (
    SELECT c.cohort,
           date_diff('day', date(c.cohort), date(p.dt)) AS age
    FROM cohorts AS c
    JOIN player_days AS p ON p.userid = c.userid
    WHERE p.dt >= :start
)
SELECT a.cohort,
       count_if(a.age = 0) AS size,
       CASE WHEN date_add('day', 1, date(a.cohort)) <= max(l.day)
            THEN count_if(a.age = 1) END AS d1,
       CASE WHEN date_add('day', 7, date(a.cohort)) <= max(l.day)
            THEN count_if(a.age = 7) END AS d7,
       CASE WHEN date_add('day', 30, date(a.cohort)) <= max(l.day)
            THEN count_if(a.age = 30) END AS d30
FROM ages AS a
CROSS JOIN last_day AS l
WHERE a.age IN (0, 1, 7, 30)
GROUP BY a.cohort
ORDER BY a.cohort
