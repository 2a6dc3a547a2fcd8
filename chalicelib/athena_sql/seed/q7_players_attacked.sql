-- Seed question 7 (verbatim Presto): How many players were attacked by an enemy?
SELECT count(distinct userid) as users_attacked_by_enemy
FROM   character_events
WHERE  event_type ='enemy_attack';
