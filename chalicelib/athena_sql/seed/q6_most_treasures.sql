-- Seed question 6 (verbatim Presto): Which player found the most treasures?
SELECT userid,
       Count(*) AS treasures_found
FROM   character_events
WHERE  event_type ='find_treasure'
GROUP  BY userid
ORDER  BY count(*) DESC
LIMIT  10;
