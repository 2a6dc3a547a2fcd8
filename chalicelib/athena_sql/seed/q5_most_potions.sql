-- Seed question 5 (verbatim Presto): Which player used the most potions?
SELECT userid,
    Count(*) AS potions_used
FROM   character_stats
WHERE  event_type ='take_potion'
GROUP  BY userid
ORDER  BY count(*) DESC
LIMIT  1;
