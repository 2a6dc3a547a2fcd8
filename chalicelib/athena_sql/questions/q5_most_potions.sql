-- Question 5: Which player used the most potions?
-- Answer: every player tied for the most take_potion events (ordered by userid), each
-- event_id once (views/player_event_totals: merge-on-read).
-- Optional application filter: :application_id ('' = every application).
WITH per_player AS (
    SELECT userid,
           sum(events) AS potions
    FROM character_stat_totals
    WHERE event_type = 'take_potion'
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY userid
)
SELECT userid, potions
FROM per_player
WHERE potions = (SELECT max(potions) FROM per_player)
ORDER BY userid
