-- Question 1: How many swords, shields and potions were purchased?
-- Answer: the sum of amount_purchased per item_type (the seed grouped by event_type).
-- A resent event (same event_id) counts once: sums are duplicate-sensitive, so each
-- event_id is reduced to its first-received copy before summing.
WITH purchases AS (
    SELECT min_by(item_type, received_at) AS item_type,
           min_by(amount_purchased, received_at) AS amount_purchased
    FROM purchase_events
    GROUP BY event_id
)
SELECT item_type,
       sum(amount_purchased) AS purchased
FROM purchases
GROUP BY item_type
ORDER BY item_type
