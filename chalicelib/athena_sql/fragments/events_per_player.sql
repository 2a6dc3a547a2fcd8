-- Fragment events_per_player (chalicelib/statements.py fills it in): the events of one
-- type per player in the application asked about (:application_id, '' = every one), each
-- event_id once (views/player_event_totals: merge-on-read). Its record's template names
-- the view (`totals`), the type (`event_type`) and the count's column (`measure`).
SELECT userid,
       sum(events) AS ${measure}
FROM ${totals}
WHERE event_type = '${event_type}'
  AND (:application_id = '' OR application_id = :application_id)
GROUP BY userid
