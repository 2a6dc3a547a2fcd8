-- Report: Guild Membership — members per guild.
-- A player belongs to the guild of their latest join (by event_ts, ties broken by
-- event_id) and counts once. Ranked by members, ties broken by guild_name.
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
