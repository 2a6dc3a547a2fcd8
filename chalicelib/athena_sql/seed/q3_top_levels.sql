-- Seed question 3 (verbatim Presto): What is are the levels of the top 10 players?
SELECT userid,
       Sum(level) AS player_level
FROM   character_stats
GROUP  BY userid
ORDER  BY Sum(level) DESC
LIMIT  10;
