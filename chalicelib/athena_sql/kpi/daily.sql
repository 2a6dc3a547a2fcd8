-- KPI: daily actives and monetisation, per UTC day (dt) in [:start, :end] ('YYYY-MM-DD',
-- at most 126 days: older days are not returned). dau: players with any valid event that
-- day (events: every valid event); new_players: players whose first-ever active day it
-- is (all history up to :end is read, userid and dt only, to know who played before);
-- gold_spent: sum of price x amount_purchased; payers: distinct purchasers; gold_per_dau.
-- Days with no events are omitted.
-- Each event_id counts once, its first-received copy: player-days are
-- duplicate-insensitive; gold is read from views/unique_purchases as in
-- reports/player_purchases (merge-on-read: a day whose rows are all compacted holds each
-- event_id once, a live day keeps each event_id's first-received copy).
-- Speed: one aggregate per player (fragments/player_days.sql over every day up to :end;
-- not per player-day: ~9x fewer groups, 3-5x faster on DuckDB at 10M events) keeps the
-- player's first active day, as its age in days before :end, and the days they played in
-- the last 126 days as bits of two bigints (bit k of `recent` = played on :end - k, of
-- `earlier` = on :end - 63 - k); a day's dau is then a bit test per player.
-- Optional application filter: :application_id ('' = every application); a live day's
-- event_id counts for the application of its first-received copy, as compaction keeps it.
WITH players AS (
    ${player_days}
),
calendar AS (
    SELECT age,
           CAST(power(2, age % 63) AS bigint) AS bit
    FROM UNNEST(sequence(0, least(date_diff('day', date(:start), date(:end)), 125))) AS t (age)
),
activity AS (
    SELECT date_format(date_add('day', -c.age, date(:end)), '%Y-%m-%d') AS dt,
           count_if(bitwise_and(CASE WHEN c.age < 63 THEN p.recent ELSE p.earlier END, c.bit)
                    <> 0) AS dau,
           count_if(p.first_age = c.age) AS new_players
    FROM players AS p
    CROSS JOIN calendar AS c
    GROUP BY c.age
),
revenue AS (
    SELECT dt,
           sum(price * amount_purchased) AS gold_spent,
           count(DISTINCT userid) AS payers
    FROM unique_purchases
    WHERE dt BETWEEN :start AND :end
      AND (:application_id = '' OR application_id = :application_id)
    GROUP BY dt
)
SELECT a.dt,
       a.dau,
       a.new_players,
       coalesce(r.gold_spent, 0) AS gold_spent,
       coalesce(r.payers, 0) AS payers,
       CAST(coalesce(r.gold_spent, 0) AS double) / a.dau AS gold_per_dau
FROM activity AS a
LEFT JOIN revenue AS r ON r.dt = a.dt
WHERE a.dau > 0
ORDER BY a.dt
