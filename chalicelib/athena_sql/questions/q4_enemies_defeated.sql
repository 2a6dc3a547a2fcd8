-- Question 4: How many enemies did a player defeat? (top 10)
-- Answer: defeat_enemy events per player, ranked by count, ties broken by userid.
-- A resent event counts once, merge-on-read: count(*) on days whose rows are all
-- compacted (each event_id once already), count(DISTINCT event_id) on days with live rows.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM character_events
    WHERE compacted IS NOT TRUE
),
per_part AS (
    SELECT userid,
           count(*) AS defeats
    FROM character_events
    WHERE event_type = 'defeat_enemy'
      AND compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    GROUP BY userid
    UNION ALL
    SELECT userid,
           count(DISTINCT event_id) AS defeats
    FROM character_events
    WHERE event_type = 'defeat_enemy'
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY userid
)
SELECT userid,
       sum(defeats) AS defeats
FROM per_part
GROUP BY userid
ORDER BY defeats DESC, userid
LIMIT 10
