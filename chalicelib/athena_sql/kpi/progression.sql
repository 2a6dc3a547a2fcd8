-- KPI: progression funnel of the players whose first active day is in [:start, :end]
-- ('YYYY-MM-DD'), as of :end: per level, the players who reached it and the median whole
-- days from their first active day to the day they did. Every player starts at level 1
-- (on their first day); level L is reached on the first day a character_stats row reports
-- a level >= L, so a skipped level counts as reached then. Exact median (Athena has no
-- exact median function): the middle one or two of the ranked days. Duplicate-insensitive
-- (first days and minima ignore resent copies). The players' stats rows are all on or
-- after :start (a stats event is an active day), so character_stats is read from :start.
WITH first_days AS (
    SELECT userid,
           min(dt) AS first_dt
    FROM events
    WHERE dt <= :end
    GROUP BY userid
    HAVING min(dt) >= :start
),
seen AS (
    SELECT s.userid,
           s.level,
           min(s.dt) AS dt
    FROM character_stats AS s
    JOIN first_days AS f ON f.userid = s.userid
    WHERE s.dt BETWEEN :start AND :end
      AND s.level >= 2
    GROUP BY s.userid, s.level
),
reached AS (
    SELECT userid,
           level,
           min(dt) OVER (
               PARTITION BY userid ORDER BY level DESC
               ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW
           ) AS dt,
           coalesce(lag(level) OVER (PARTITION BY userid ORDER BY level), 1) AS below
    FROM seen
),
levels AS (
    SELECT 1 AS level,
           0 AS days
    FROM first_days
    UNION ALL
    SELECT t.level,
           date_diff('day', date(f.first_dt), date(r.dt)) AS days
    FROM reached AS r
    JOIN first_days AS f ON f.userid = r.userid
    CROSS JOIN UNNEST(sequence(r.below + 1, r.level)) AS t (level)
),
ranked AS (
    SELECT level,
           days,
           row_number() OVER (PARTITION BY level ORDER BY days) AS n,
           count(*) OVER (PARTITION BY level) AS players
    FROM levels
)
SELECT level,
       max(players) AS players,
       avg(CASE WHEN 2 * n BETWEEN players AND players + 2 THEN days END) AS median_days
FROM ranked
GROUP BY level
ORDER BY level
