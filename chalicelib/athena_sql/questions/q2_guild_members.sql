-- Question 2: How many members are in each guild?
-- Answer: a player belongs to the guild of their latest join (by event_ts, ties broken by
-- event_id) and counts once. Resent events are harmless here: a copy of the latest join
-- names the same guild and only one row per player survives.
WITH latest AS (
    SELECT userid,
           guild_name,
           row_number() OVER (PARTITION BY userid ORDER BY event_ts DESC, event_id DESC) AS rn
    FROM guild_events
)
SELECT guild_name,
       count(*) AS members
FROM latest
WHERE rn = 1
GROUP BY guild_name
ORDER BY members DESC, guild_name
