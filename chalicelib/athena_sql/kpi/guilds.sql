-- KPI: guild joins and switches per week (starting Monday, UTC) and guild, for joins on
-- days (dt) in [:start, :end] ('YYYY-MM-DD'). joins: join_guild events into the guild;
-- switches_in: those by players whose previous join (any time up to :end) was to another
-- guild; switches_out: players who left the guild for another one that week. A player's
-- joins are ordered by event_ts, then event_id. Each event_id counts once, its
-- first-received copy, exactly and across days: join events are few, so deduplicating all
-- of them is cheap (a resent copy would otherwise sit between two joins).
WITH joins AS (
    SELECT min_by(userid, received_at) AS userid,
           min_by(guild_name, received_at) AS guild_name,
           min_by(event_ts, received_at) AS event_ts,
           min_by(dt, received_at) AS dt,
           event_id
    FROM guild_events
    WHERE dt <= :end
    GROUP BY event_id
),
moves AS (
    SELECT date_format(date_trunc('week', date(dt)), '%Y-%m-%d') AS week,
           guild_name,
           lag(guild_name) OVER (PARTITION BY userid ORDER BY event_ts, event_id) AS previous,
           dt
    FROM joins
),
tally AS (
    SELECT week,
           guild_name,
           1 AS joins,
           CASE WHEN previous <> guild_name THEN 1 ELSE 0 END AS switches_in,
           0 AS switches_out
    FROM moves
    WHERE dt >= :start
    UNION ALL
    SELECT week,
           previous AS guild_name,
           0 AS joins,
           0 AS switches_in,
           1 AS switches_out
    FROM moves
    WHERE dt >= :start
      AND previous <> guild_name
)
SELECT week,
       guild_name,
       sum(joins) AS joins,
       sum(switches_in) AS switches_in,
       sum(switches_out) AS switches_out
FROM tally
GROUP BY week, guild_name
ORDER BY week, guild_name
