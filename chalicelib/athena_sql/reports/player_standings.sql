-- Report: Player Standings — each player's current level, attack, defense and health.
-- Current = the latest character_stats row (by event_ts, ties broken by event_id), not
-- the seed's sums. Ranked by level, ties broken by userid. Resent copies of the latest
-- row carry the same values, so no separate dedupe pass is needed.
WITH latest AS (
    SELECT userid,
           level,
           attack,
           defense,
           health,
           row_number() OVER (PARTITION BY userid ORDER BY event_ts DESC, event_id DESC) AS rn
    FROM character_stats
)
SELECT userid,
       level,
       attack,
       defense,
       health
FROM latest
WHERE rn = 1
ORDER BY level DESC, userid
