-- Seed question 2 (verbatim Presto): How many members are in each guild?
SELECT guild_name,
       Count(DISTINCT userid)
FROM   guild_events
GROUP  BY guild_name; 
