-- Seed question 1 (verbatim Presto): How many swords, shields, and potions were purchased?
SELECT event_type,
       sum(amount_purchased) as ttl_purchased
FROM   purchase_events
GROUP  BY event_type; 
