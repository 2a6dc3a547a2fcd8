-- Report: Guild Membership — members per guild.
-- A player belongs to the guild of their latest join (by event_ts, ties broken by the
-- larger event_id) and counts once. Ranked by members, ties broken by guild_name. Same
-- form as questions/q2: one aggregate is exact for every player whose latest event_ts is
-- unique; only players whose latest event_ts occurs twice are broken by event_id.
-- As of :as_of ('YYYY-MM-DD', bound by the caller; the scheduled report binds its date):
-- only partitions dt <= :as_of count, i.e. events up to the end of that UTC day, so a
-- backfilled report shows the state of that day, not of today.
WITH latest AS (
    SELECT userid,
           max_by(guild_name, event_ts) AS guild_name,
           max(event_ts, 2) AS top_ts
    FROM guild_events
    WHERE dt <= :as_of
    GROUP BY userid
),
tied AS (
    SELECT userid,
           element_at(top_ts, 1) AS event_ts
    FROM latest
    WHERE element_at(top_ts, 1) = element_at(top_ts, 2)
),
current_guild AS (
    SELECT userid,
           guild_name
    FROM latest
    WHERE cardinality(top_ts) = 1
       OR element_at(top_ts, 1) <> element_at(top_ts, 2)
    UNION ALL
    SELECT g.userid,
           max_by(g.guild_name, g.event_id) AS guild_name
    FROM guild_events AS g
    JOIN tied AS t
      ON g.userid = t.userid AND g.event_ts = t.event_ts
    WHERE g.dt <= :as_of
    GROUP BY g.userid
)
SELECT guild_name,
       count(*) AS members
FROM current_guild
GROUP BY guild_name
ORDER BY members DESC, guild_name
