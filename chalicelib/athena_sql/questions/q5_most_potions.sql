-- Question 5: Which player used the most potions?
-- Answer: every player tied for the most take_potion events (ordered by userid), each
-- event_id once (views/player_event_totals: merge-on-read).
SELECT userid, events AS potions
FROM character_stat_totals
WHERE event_type = 'take_potion' AND events = most
ORDER BY userid
