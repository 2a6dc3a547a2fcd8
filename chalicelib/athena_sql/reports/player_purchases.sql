-- Report: Player Purchases — swords, shields and potions bought per player and the gold
-- spent (price x amount). Ranked by gold spent, ties broken by userid. Sums are
-- duplicate-sensitive, merge-on-read: a day (dt) whose rows are all compacted holds each
-- event_id once and is used as is; a day that also has live rows (compacted IS NOT TRUE)
-- reduces each event_id to its first-received copy first.
-- As of :as_of ('YYYY-MM-DD', bound by the caller; the scheduled report binds its date):
-- only partitions dt <= :as_of count, i.e. events up to the end of that UTC day, so a
-- backfilled report shows the state of that day, not of today.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM purchase_events
    WHERE compacted IS NOT TRUE
      AND dt <= :as_of
),
purchases AS (
    SELECT userid,
           item_type,
           amount_purchased,
           price
    FROM purchase_events
    WHERE compacted IS TRUE
      AND dt <= :as_of
      AND dt NOT IN (SELECT dt FROM live_days)
    UNION ALL
    SELECT min_by(userid, received_at) AS userid,
           min_by(item_type, received_at) AS item_type,
           min_by(amount_purchased, received_at) AS amount_purchased,
           min_by(price, received_at) AS price
    FROM purchase_events
    WHERE dt <= :as_of
      AND dt IN (SELECT dt FROM live_days)
    GROUP BY event_id
)
SELECT userid,
       sum(CASE WHEN item_type = 'sword' THEN amount_purchased ELSE 0 END) AS swords,
       sum(CASE WHEN item_type = 'shield' THEN amount_purchased ELSE 0 END) AS shields,
       sum(CASE WHEN item_type = 'potion' THEN amount_purchased ELSE 0 END) AS potions,
       sum(price * amount_purchased) AS gold_spent
FROM purchases
GROUP BY userid
ORDER BY gold_spent DESC, userid
