-- Report: Player Purchases — swords, shields and potions bought per player and the gold
-- spent (price x amount). Sums are duplicate-sensitive: each event_id is reduced to its
-- first-received copy first. Ranked by gold spent, ties broken by userid.
WITH purchases AS (
    SELECT min_by(userid, received_at) AS userid,
           min_by(item_type, received_at) AS item_type,
           min_by(amount_purchased, received_at) AS amount_purchased,
           min_by(price, received_at) AS price
    FROM purchase_events
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
