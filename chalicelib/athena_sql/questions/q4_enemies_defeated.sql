-- Question 4: How many enemies did a player defeat? (top 10)
-- Answer: defeat_enemy events per player, ranked by count, ties broken by userid.
-- count(DISTINCT event_id) counts a resent event once without a separate dedupe pass.
SELECT userid,
       count(DISTINCT event_id) AS defeats
FROM character_events
WHERE event_type = 'defeat_enemy'
GROUP BY userid
ORDER BY defeats DESC, userid
LIMIT 10
