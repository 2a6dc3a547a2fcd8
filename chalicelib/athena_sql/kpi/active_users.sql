-- KPI: daily, weekly and monthly active players and stickiness, per UTC day (dt) in
-- [:start, :end] ('YYYY-MM-DD', at most 99 days: older days are not returned). wau / mau
-- = players active in the 7 / 28 days ending that day (rolling), stickiness = dau / mau.
-- Days with no events are omitted. Reads the 27 days before :start for the first
-- windows. Player-days are duplicate-insensitive (a resent event adds no player-day).
-- Speed: as kpi/daily, one aggregate per player (fragments/player_days.sql, from the 27
-- days before :start) keeps the days they played in the last 126 days as bits of two
-- bigints (bit k of `recent` = played on :end - k, of `earlier` = on :end - 63 - k); a
-- window of days is a bit mask per bigint (`spans`), and a player is in it when a mask
-- and their bits share a bit.
-- Optional application filter: :application_id ('' = every application).
WITH players AS (
    ${player_days}
),
spans AS (
    -- the days [age, age + width - 1] of each window, clipped to the 126 days of bits
    SELECT t.age,
           w.width,
           t.age AS lo,
           least(t.age + w.width - 1, 125) AS hi
    FROM UNNEST(sequence(0, least(date_diff('day', date(:start), date(:end)), 98))) AS t (age)
    CROSS JOIN UNNEST(ARRAY[1, 7, 28]) AS w (width)
),
masks AS (
    -- bits lo..hi of a bigint = 2^hi - 2^lo + 2^hi (2^(hi + 1) overflows at hi = 62)
    SELECT age,
           width,
           CASE WHEN lo <= 62
                THEN CAST(power(2, least(hi, 62)) AS bigint) - CAST(power(2, lo) AS bigint)
                     + CAST(power(2, least(hi, 62)) AS bigint)
                ELSE 0 END AS recent,
           CASE WHEN hi >= 63
                THEN CAST(power(2, hi - 63) AS bigint)
                     - CAST(power(2, greatest(lo, 63) - 63) AS bigint)
                     + CAST(power(2, hi - 63) AS bigint)
                ELSE 0 END AS earlier
    FROM spans
),
windows AS (
    SELECT age,
           max(CASE WHEN width = 1 THEN recent END) AS day_recent,
           max(CASE WHEN width = 1 THEN earlier END) AS day_earlier,
           max(CASE WHEN width = 7 THEN recent END) AS week_recent,
           max(CASE WHEN width = 7 THEN earlier END) AS week_earlier,
           max(CASE WHEN width = 28 THEN recent END) AS month_recent,
           max(CASE WHEN width = 28 THEN earlier END) AS month_earlier
    FROM masks
    GROUP BY age
),
counts AS (
    SELECT w.age,
           count_if(bitwise_and(p.recent, w.day_recent) <> 0
                    OR bitwise_and(p.earlier, w.day_earlier) <> 0) AS dau,
           count_if(bitwise_and(p.recent, w.week_recent) <> 0
                    OR bitwise_and(p.earlier, w.week_earlier) <> 0) AS wau,
           count_if(bitwise_and(p.recent, w.month_recent) <> 0
                    OR bitwise_and(p.earlier, w.month_earlier) <> 0) AS mau
    FROM players AS p
    CROSS JOIN windows AS w
    GROUP BY w.age
)
SELECT date_format(date_add('day', -age, date(:end)), '%Y-%m-%d') AS dt,
       dau,
       wau,
       mau,
       CAST(dau AS double) / mau AS stickiness
FROM counts
WHERE dau > 0
ORDER BY dt
