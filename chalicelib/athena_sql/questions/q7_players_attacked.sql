-- Question 7: How many players were attacked by an enemy?
-- Answer: distinct players with at least one enemy_attack event (duplicate-insensitive).
SELECT count(DISTINCT userid) AS players_attacked
FROM character_events
WHERE event_type = 'enemy_attack'
