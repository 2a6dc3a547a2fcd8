-- Question 4: How many enemies did each player defeat? (top 10)
-- Answer: defeat_enemy events per player, each event_id once (fragments/events_per_player,
-- merge-on-read), ranked by count, ties broken by userid.
-- Optional application filter: :application_id ('' = every application).
WITH per_player AS (
    ${events_per_player}
)
SELECT userid, defeats
FROM per_player
ORDER BY defeats DESC, userid
LIMIT 10
