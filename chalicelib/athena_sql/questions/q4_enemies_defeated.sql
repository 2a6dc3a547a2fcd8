-- Question 4: How many enemies did each player defeat? (top 10)
-- Answer: defeat_enemy events per player, each event_id once (views/player_event_totals:
-- merge-on-read), ranked by count, ties broken by userid.
-- Optional application filter: :application_id ('' = every application).
SELECT userid,
       sum(events) AS defeats
FROM character_event_totals
WHERE event_type = 'defeat_enemy'
  AND (:application_id = '' OR application_id = :application_id)
GROUP BY userid
ORDER BY defeats DESC, userid
LIMIT 10
