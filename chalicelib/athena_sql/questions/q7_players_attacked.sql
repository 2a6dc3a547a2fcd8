-- Question 7: How many players were attacked by an enemy?
-- Answer: distinct players with at least one enemy_attack event (duplicate-insensitive).
-- Optional application filter: :application_id ('' = every application).
SELECT count(DISTINCT userid) AS players_attacked
FROM character_events
WHERE event_type = 'enemy_attack'
  AND (:application_id = '' OR application_id = :application_id)
