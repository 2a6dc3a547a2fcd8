-- View template, one view per table (${table}, see chalicelib/statements.py): how many
-- events of each type each player has, each event_id once, and the most any player has of
-- that type (a player with events = most is tied for first). Merge-on-read: count(*) on
-- days whose rows are all compacted (each event_id once already), count(DISTINCT event_id)
-- on days with live rows. A filter on event_type reaches the scans (it is a grouping and
-- partitioning key throughout).
WITH live_days AS (
    SELECT DISTINCT dt
    FROM ${table}
    WHERE compacted IS NOT TRUE
),
per_part AS (
    SELECT event_type,
           userid,
           count(*) AS events
    FROM ${table}
    WHERE compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    GROUP BY event_type, userid
    UNION ALL
    SELECT event_type,
           userid,
           count(DISTINCT event_id) AS events
    FROM ${table}
    WHERE dt IN (SELECT dt FROM live_days)
    GROUP BY event_type, userid
),
totals AS (
    SELECT event_type,
           userid,
           sum(events) AS events
    FROM per_part
    GROUP BY event_type, userid
)
SELECT event_type,
       userid,
       events,
       max(events) OVER (PARTITION BY event_type) AS most
FROM totals
