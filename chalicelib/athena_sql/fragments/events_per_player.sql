-- Fragment events_per_player (chalicelib/statements.py fills it in): the events of one
-- type per player in the application asked about (:application_id, '' = every one), each
-- event_id once, merge-on-read: on days compaction has merged (every row compacted) a plain
-- count, on days with live rows a distinct count of event_id. Its record's template names
-- the table (`table`), the type (`event_type`) and the count's column (`measure`).
-- Filtering on the type before grouping by player alone is why this is a fragment and not
-- a view: a view grouped by (application, type, player) made q4-q6 ~25% slower at 10M.
SELECT userid,
       sum(events) AS ${measure}
FROM (
    SELECT userid,
           count(*) AS events
    FROM ${table}
    WHERE event_type = '${event_type}'
      AND compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM ${table} WHERE compacted IS NOT TRUE)
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY userid
    UNION ALL
    SELECT userid,
           count(DISTINCT event_id) AS events
    FROM ${table}
    WHERE event_type = '${event_type}'
      AND dt IN (SELECT dt FROM ${table} WHERE compacted IS NOT TRUE)
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY userid
) AS parts
GROUP BY userid
