-- Question 6: Which player found the most treasures?
-- Answer: every player tied for the most find_treasure events (ordered by userid), each
-- event_id once (views/player_event_totals: merge-on-read).
-- Optional application filter: :application_id ('' = every application).
WITH per_player AS (
    SELECT userid,
           sum(events) AS treasures
    FROM character_event_totals
    WHERE event_type = 'find_treasure'
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY userid
)
SELECT userid, treasures
FROM per_player
WHERE treasures = (SELECT max(treasures) FROM per_player)
ORDER BY userid
