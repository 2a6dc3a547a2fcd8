-- KPI: daily actives and monetisation, per UTC day (dt) in [:start, :end] ('YYYY-MM-DD').
-- dau: players with any valid event that day (events: every valid event); new_players:
-- players whose first-ever active day it is (history before :start is read, userid only,
-- to know who played before); gold_spent: sum of price x amount_purchased; payers:
-- distinct purchasers; gold_per_dau. Days with no events are omitted. Each event_id
-- counts once, its first-received copy: player-days and distinct counts are
-- duplicate-insensitive; gold is merge-on-read as in reports/player_purchases (a day whose
-- rows are all compacted holds each event_id once, a live day keeps each event_id's
-- first-received copy).
WITH player_days AS (
    SELECT userid,
           dt
    FROM events
    WHERE dt <= :end
    GROUP BY userid, dt
),
first_days AS (
    SELECT userid,
           min(dt) AS dt
    FROM player_days
    GROUP BY userid
),
activity AS (
    SELECT dt,
           count(*) AS dau
    FROM player_days
    WHERE dt >= :start
    GROUP BY dt
),
newcomers AS (
    SELECT dt,
           count(*) AS new_players
    FROM first_days
    WHERE dt >= :start
    GROUP BY dt
),
live_days AS (
    SELECT DISTINCT dt
    FROM purchase_events
    WHERE compacted IS NOT TRUE
      AND dt BETWEEN :start AND :end
),
purchases AS (
    SELECT dt,
           userid,
           amount_purchased,
           price
    FROM purchase_events
    WHERE compacted IS TRUE
      AND dt BETWEEN :start AND :end
      AND dt NOT IN (SELECT dt FROM live_days)
    UNION ALL
    SELECT min_by(dt, received_at) AS dt,
           min_by(userid, received_at) AS userid,
           min_by(amount_purchased, received_at) AS amount_purchased,
           min_by(price, received_at) AS price
    FROM purchase_events
    WHERE dt BETWEEN :start AND :end
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY event_id
),
revenue AS (
    SELECT dt,
           sum(price * amount_purchased) AS gold_spent,
           count(DISTINCT userid) AS payers
    FROM purchases
    GROUP BY dt
)
SELECT a.dt,
       a.dau,
       coalesce(n.new_players, 0) AS new_players,
       coalesce(r.gold_spent, 0) AS gold_spent,
       coalesce(r.payers, 0) AS payers,
       CAST(coalesce(r.gold_spent, 0) AS double) / a.dau AS gold_per_dau
FROM activity AS a
LEFT JOIN newcomers AS n ON n.dt = a.dt
LEFT JOIN revenue AS r ON r.dt = a.dt
ORDER BY a.dt
