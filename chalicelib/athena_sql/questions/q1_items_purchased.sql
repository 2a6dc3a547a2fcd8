-- Question 1: How many swords, shields and potions were purchased?
-- Answer: the sum of amount_purchased per item_type (the seed grouped by event_type), a
-- resent event (same event_id) counted once (views/unique_purchases: merge-on-read).
-- Optional application filter: :application_id ('' = every application).
SELECT item_type,
       sum(amount_purchased) AS purchased
FROM unique_purchases
WHERE (:application_id = '' OR application_id = :application_id)
GROUP BY item_type
ORDER BY item_type
