-- View template, one view per table (${table}, see chalicelib/statements.py): how many
-- events of each type each player has in each application, each event_id once. The
-- statements that read it sum over the applications they ask about and rank the players.
-- Merge-on-read: count(*) on days whose rows are all compacted (each event_id once
-- already), count(DISTINCT event_id) on days with live rows. A filter on event_type or
-- application_id reaches the scans (grouping keys throughout).
WITH live_days AS (
    SELECT DISTINCT dt
    FROM ${table}
    WHERE compacted IS NOT TRUE
),
per_part AS (
    SELECT application_id,
           event_type,
           userid,
           count(*) AS events
    FROM ${table}
    WHERE compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    GROUP BY application_id, event_type, userid
    UNION ALL
    SELECT application_id,
           event_type,
           userid,
           count(DISTINCT event_id) AS events
    FROM ${table}
    WHERE dt IN (SELECT dt FROM live_days)
    GROUP BY application_id, event_type, userid
)
SELECT application_id,
       event_type,
       userid,
       sum(events) AS events
FROM per_part
GROUP BY application_id, event_type, userid
