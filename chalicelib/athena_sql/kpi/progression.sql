-- KPI: progression funnel of the players whose first active day (first UTC day with any
-- valid event, over all history up to :end) is in [:start, :end] ('YYYY-MM-DD'), as of
-- :end: per level, the players who reached it and the median whole days from their first
-- active day to the day they did. Every player starts at level 1 (on their first day);
-- they reach level L with a level_up event to level L (levels rise by one per level_up,
-- so each player sends one per level: a second one to the same level would count twice).
-- Each event_id counts once, merge-on-read as in questions/q4 (a day whose rows are all
-- compacted holds each event_id once, a live day keeps each event_id's first-received
-- copy). Exact median (Athena has no exact median function), taken from the histogram of
-- days per level: the mean of the two middle values (the same one when the count is odd).
-- The players' level_up events are all on or after :start (an event makes an active day),
-- so character_stats is read from :start.
-- Speed: level_up events are joined to the players' first days and counted per (level,
-- days) straight away; grouping them per (player, level) first was ~2x slower on DuckDB.
-- Optional application filter: :application_id ('' = every application); a live day's
-- event_id counts for the application of its first-received copy, as compaction keeps it.
WITH players AS (
    SELECT userid,
           max(date_diff('day', date(dt), date(:end))) AS first_age
    FROM events
    WHERE dt <= :end
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY userid
    HAVING max(date_diff('day', date(dt), date(:end)))
           <= date_diff('day', date(:start), date(:end))
),
live_days AS (
    SELECT DISTINCT dt
    FROM character_stats
    WHERE compacted IS NOT TRUE
      AND dt BETWEEN :start AND :end
),
level_ups AS (
    -- the day as its age before :end, computed while dt is still one value per file
    SELECT userid,
           level,
           date_diff('day', date(dt), date(:end)) AS age
    FROM character_stats
    WHERE event_type = 'level_up'
      AND compacted IS TRUE
      AND dt BETWEEN :start AND :end
      AND dt NOT IN (SELECT dt FROM live_days)
      AND (:application_id = '' OR application_id = :application_id)
    UNION ALL
    SELECT min_by(userid, received_at) AS userid,
           min_by(level, received_at) AS level,
           date_diff('day', date(min_by(dt, received_at)), date(:end)) AS age
    FROM character_stats
    WHERE event_type = 'level_up'
      AND dt BETWEEN :start AND :end
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY event_id
    HAVING (:application_id = '' OR min_by(application_id, received_at) = :application_id)
),
reached AS (
    SELECT 1 AS level,
           0 AS days
    FROM players
    UNION ALL
    SELECT u.level,
           p.first_age - u.age AS days
    FROM level_ups AS u
    JOIN players AS p ON p.userid = u.userid
    WHERE u.level >= 2
),
histogram AS (
    SELECT level,
           days,
           count(*) AS players
    FROM reached
    GROUP BY level, days
),
running AS (
    SELECT level,
           days,
           sum(players) OVER (PARTITION BY level ORDER BY days) AS up_to,
           sum(players) OVER (PARTITION BY level) AS total
    FROM histogram
)
-- with n players, the middle values are the ((n + 1) / 2)-th and the ((n + 2) / 2)-th:
-- the first days whose running count reaches half of n + n % 2 and of n + 2 - n % 2
SELECT level,
       max(total) AS players,
       (min(CASE WHEN 2 * up_to >= total + total % 2 THEN days END)
        + min(CASE WHEN 2 * up_to >= total + 2 - total % 2 THEN days END)) / 2e0 AS median_days
FROM running
GROUP BY level
ORDER BY level
