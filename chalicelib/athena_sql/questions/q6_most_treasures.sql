-- Question 6: Which player found the most treasures?
-- Answer: every player tied for the most find_treasure events (ordered by userid), each
-- event_id once (views/player_event_totals: merge-on-read).
SELECT userid, events AS treasures
FROM character_event_totals
WHERE event_type = 'find_treasure' AND events = most
ORDER BY userid
