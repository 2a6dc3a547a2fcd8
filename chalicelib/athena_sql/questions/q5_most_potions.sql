-- Question 5: Which player used the most potions?
-- Answer: every player tied for the most take_potion events (ordered by userid).
-- A resent event counts once, merge-on-read: count(*) on days whose rows are all
-- compacted (each event_id once already), count(DISTINCT event_id) on days with live rows.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM character_stats
    WHERE compacted IS NOT TRUE
),
per_part AS (
    SELECT userid,
           count(*) AS potions
    FROM character_stats
    WHERE event_type = 'take_potion'
      AND compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    GROUP BY userid
    UNION ALL
    SELECT userid,
           count(DISTINCT event_id) AS potions
    FROM character_stats
    WHERE event_type = 'take_potion'
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY userid
),
potion_counts AS (
    SELECT userid,
           sum(potions) AS potions
    FROM per_part
    GROUP BY userid
)
SELECT userid,
       potions
FROM potion_counts
WHERE potions = (SELECT max(potions) FROM potion_counts)
ORDER BY userid
