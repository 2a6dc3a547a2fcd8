-- Question 1: How many swords, shields and potions were purchased?
-- Answer: the sum of amount_purchased per item_type (the seed grouped by event_type).
-- A resent event (same event_id) counts once, merge-on-read: a day (dt) whose rows are all
-- compacted holds each event_id once and is summed as is; a day that also has live rows
-- (compacted IS NOT TRUE: new batches, late resends) reduces each event_id to its
-- first-received copy first. A resend keeps its event_ts, so both copies share the dt.
WITH live_days AS (
    SELECT DISTINCT dt
    FROM purchase_events
    WHERE compacted IS NOT TRUE
),
purchases AS (
    SELECT item_type,
           amount_purchased
    FROM purchase_events
    WHERE compacted IS TRUE
      AND dt NOT IN (SELECT dt FROM live_days)
    UNION ALL
    SELECT min_by(item_type, received_at) AS item_type,
           min_by(amount_purchased, received_at) AS amount_purchased
    FROM purchase_events
    WHERE dt IN (SELECT dt FROM live_days)
    GROUP BY event_id
)
SELECT item_type,
       sum(amount_purchased) AS purchased
FROM purchases
GROUP BY item_type
ORDER BY item_type
