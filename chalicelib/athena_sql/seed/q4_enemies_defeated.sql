-- Seed question 4 (verbatim Presto): How many enemies did a player defeat?
SELECT userid,
    Count(*) AS num_defeated
FROM   character_events
WHERE  event_type ='defeat_enemy'
GROUP  BY userid
ORDER  BY count(*) DESC
LIMIT  10;
