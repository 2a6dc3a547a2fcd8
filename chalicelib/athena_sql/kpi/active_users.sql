-- KPI: daily, weekly and monthly active players and stickiness, per UTC day (dt) in
-- [:start, :end] ('YYYY-MM-DD'): wau / mau = players active in the 7 / 28 days ending that
-- day (rolling), stickiness = dau / mau. Days with no events are omitted. Reads 27 days
-- before :start for the first windows. Player-days are duplicate-insensitive (a resent
-- event adds no player-day).
-- Without a 28-fold join of players and days: each active day keeps its player in the
-- window until the player's next active day or the window's length, whichever is first,
-- so a running sum of +1 (active day) and -1 (left the window) counts the window's players.
WITH player_days AS (
    SELECT userid,
           date(dt) AS day
    FROM events
    WHERE dt BETWEEN date_format(date_add('day', -27, date(:start)), '%Y-%m-%d') AND :end
    GROUP BY userid, dt
),
spans AS (
    SELECT day,
           lead(day) OVER (PARTITION BY userid ORDER BY day) AS next_day
    FROM player_days
),
changes AS (
    SELECT day,
           1 AS wau,
           1 AS mau
    FROM spans
    UNION ALL
    SELECT least(coalesce(next_day, date_add('day', 7, day)), date_add('day', 7, day)) AS day,
           -1 AS wau,
           0 AS mau
    FROM spans
    UNION ALL
    SELECT least(coalesce(next_day, date_add('day', 28, day)), date_add('day', 28, day)) AS day,
           0 AS wau,
           -1 AS mau
    FROM spans
),
per_day AS (
    SELECT day,
           sum(wau) AS wau,
           sum(mau) AS mau
    FROM changes
    GROUP BY day
),
running AS (
    SELECT day,
           sum(wau) OVER (ORDER BY day) AS wau,
           sum(mau) OVER (ORDER BY day) AS mau
    FROM per_day
),
dau AS (
    SELECT day,
           count(*) AS dau
    FROM player_days
    WHERE day >= date(:start)
    GROUP BY day
)
SELECT date_format(d.day, '%Y-%m-%d') AS dt,
       d.dau,
       r.wau,
       r.mau,
       CAST(d.dau AS double) / r.mau AS stickiness
FROM dau AS d
JOIN running AS r ON r.day = d.day
ORDER BY dt
