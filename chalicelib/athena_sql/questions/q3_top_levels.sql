-- Question 3: What are the levels of the top 10 players?
-- Answer: a player's level is the highest level reached (max, not the seed's SUM);
-- ranked by level, ties broken by userid. max() ignores resent duplicates.
-- Optional application filter: :application_id ('' = every application).
SELECT userid,
       max(level) AS level
FROM character_stats
WHERE (:application_id = '' OR application_id = :application_id)
GROUP BY userid
ORDER BY level DESC, userid
LIMIT 10
