-- Report: Player Purchases — swords, shields and potions bought per player and the gold
-- spent (price x amount). Ranked by gold spent, ties broken by userid. Sums are
-- duplicate-sensitive: each event_id counts once (views/unique_purchases: merge-on-read).
-- As of :as_of ('YYYY-MM-DD', bound by the caller; the scheduled report binds its date):
-- only partitions dt <= :as_of count, i.e. events up to the end of that UTC day, so a
-- backfilled report shows the state of that day, not of today. Optional application filter:
-- :application_id ('' = every application).
SELECT userid,
       sum(CASE WHEN item_type = 'sword' THEN amount_purchased ELSE 0 END) AS swords,
       sum(CASE WHEN item_type = 'shield' THEN amount_purchased ELSE 0 END) AS shields,
       sum(CASE WHEN item_type = 'potion' THEN amount_purchased ELSE 0 END) AS potions,
       sum(price * amount_purchased) AS gold_spent
FROM unique_purchases
WHERE dt <= :as_of
  AND (:application_id = '' OR application_id = :application_id)
GROUP BY userid
ORDER BY gold_spent DESC, userid
