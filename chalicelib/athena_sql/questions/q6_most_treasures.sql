-- Question 6: Which player found the most treasures?
-- Answer: every player tied for the most find_treasure events (ordered by userid).
-- A resent event counts once, merge-on-read: count(*) on days whose rows are all
-- compacted (each event_id once already), count(DISTINCT event_id) on days with live rows.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM character_events
    WHERE compacted IS NOT TRUE
),
per_part AS (
    SELECT userid,
           count(*) AS treasures
    FROM character_events
    WHERE event_type = 'find_treasure'
      AND compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    GROUP BY userid
    UNION ALL
    SELECT userid,
           count(DISTINCT event_id) AS treasures
    FROM character_events
    WHERE event_type = 'find_treasure'
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY userid
),
treasure_counts AS (
    SELECT userid,
           sum(treasures) AS treasures
    FROM per_part
    GROUP BY userid
)
SELECT userid,
       treasures
FROM treasure_counts
WHERE treasures = (SELECT max(treasures) FROM treasure_counts)
ORDER BY userid
