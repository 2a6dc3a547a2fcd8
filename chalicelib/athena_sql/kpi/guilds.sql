-- KPI: guild joins and switches per week (starting Monday, UTC) and guild, for joins on
-- days (dt) in [:start, :end] ('YYYY-MM-DD'). joins: join_guild events into the guild;
-- switches_in: those by players whose previous join (any time up to :end) was to another
-- guild; switches_out: players who left the guild for another one that week. A player's
-- joins are ordered by event_ts, then event_id. Each event_id counts once, merge-on-read
-- as in questions/q4 (a day whose rows are all compacted holds each event_id once, a live
-- day keeps each event_id's first-received copy). Counted per day first and summed into
-- weeks at the end, so dates are formatted once per (day, guild), not per join.
-- Optional application filter: :application_id ('' = every application); a live day's
-- event_id counts for the application of its first-received copy, as compaction keeps it.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM guild_events
    WHERE compacted IS NOT TRUE
      AND dt <= :end
),
joins AS (
    SELECT userid,
           guild_name,
           event_ts,
           event_id,
           dt
    FROM guild_events
    WHERE compacted IS TRUE
      AND dt <= :end
      AND dt NOT IN (SELECT dt FROM live_days)
      AND (:application_id = '' OR application_id = :application_id)
    UNION ALL
    SELECT min_by(userid, received_at) AS userid,
           min_by(guild_name, received_at) AS guild_name,
           min_by(event_ts, received_at) AS event_ts,
           event_id,
           min_by(dt, received_at) AS dt
    FROM guild_events
    WHERE dt <= :end
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY event_id
    HAVING (:application_id = '' OR min_by(application_id, received_at) = :application_id)
),
moves AS (
    SELECT dt,
           guild_name,
           lag(guild_name) OVER (PARTITION BY userid ORDER BY event_ts, event_id) AS previous
    FROM joins
),
per_day AS (
    SELECT dt,
           guild_name,
           count(*) AS joins,
           count_if(previous <> guild_name) AS switches_in,
           0 AS switches_out
    FROM moves
    WHERE dt >= :start
    GROUP BY dt, guild_name
    UNION ALL
    SELECT dt,
           previous AS guild_name,
           0 AS joins,
           0 AS switches_in,
           count(*) AS switches_out
    FROM moves
    WHERE dt >= :start
      AND previous <> guild_name
    GROUP BY dt, previous
)
SELECT date_format(date_trunc('week', date(dt)), '%Y-%m-%d') AS week,
       guild_name,
       sum(joins) AS joins,
       sum(switches_in) AS switches_in,
       sum(switches_out) AS switches_out
FROM per_day
GROUP BY date_format(date_trunc('week', date(dt)), '%Y-%m-%d'), guild_name
ORDER BY week, guild_name
