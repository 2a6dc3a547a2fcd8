-- Questions 5 and 6 (one file, filled in per question by its record's template): every
-- player tied for the most ${event_type} events (ordered by userid), each event_id once
-- (fragments/events_per_player, merge-on-read).
-- Optional application filter: :application_id ('' = every application).
WITH per_player AS (
    ${events_per_player}
)
SELECT userid, ${measure}
FROM per_player
WHERE ${measure} = (SELECT max(${measure}) FROM per_player)
ORDER BY userid
