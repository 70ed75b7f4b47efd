-- The seed project's title export, parameterized (BigQuery standard SQL).
--
-- 1. Candidate subreddits: those with posts scoring >= min_score, minus excluded, ranked by
--    how many different people post there; the top top_subreddits are kept. When
--    subreddits is not empty, exactly those subreddits are used instead.
-- 2. For each one, its top per_subreddit posts by score over ALL its posts (the score filter
--    applies only to step 1). NULL titles are not candidates.
-- titlegen cleans the titles (HTML entities, U+FFFD, whitespace), drops empty, [deleted] and
-- [removed] ones and removes repeats afterwards, in Python, so BigQuery and local dumps agree.
--
-- ${table} is replaced by a table name that titlegen has validated; a table name cannot be a
-- query parameter. Names in excluded and subreddits are lower case; matching ignores case.
-- (Comments here name the query parameters without their @: bqemulator counts them.)
-- Ties are broken by name and title so the same rows always give the same output.
WITH
  subreddits AS (
    SELECT subreddit
    FROM (
      SELECT subreddit
      FROM `${table}`
      WHERE score >= @min_score
        AND LOWER(subreddit) NOT IN UNNEST(@excluded)
      GROUP BY subreddit
      ORDER BY APPROX_COUNT_DISTINCT(author) DESC, subreddit
      LIMIT @top_subreddits)
    WHERE ARRAY_LENGTH(@subreddits) = 0
    UNION DISTINCT
    SELECT DISTINCT subreddit
    FROM `${table}`
    WHERE LOWER(subreddit) IN UNNEST(@subreddits))
SELECT subreddit, title, score
FROM (
  SELECT
    subreddit,
    title,
    score,
    ROW_NUMBER() OVER (PARTITION BY subreddit ORDER BY score DESC, title) AS score_rank
  FROM `${table}`
  WHERE title IS NOT NULL
    AND subreddit IN (SELECT subreddit FROM subreddits))
WHERE score_rank <= @per_subreddit
ORDER BY subreddit, score DESC, title
