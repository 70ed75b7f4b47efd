-- The same selection as reddit_titles.sql, for local dumps in duckdb's dialect.
-- `posts` is the view of the posts titlegen loaded from the dumps that the filter rules keep
-- (subreddit, title, score, author; see fetching/dumps.py).
-- BigQuery's APPROX_COUNT_DISTINCT is exact at these sizes and close to exact beyond; here the
-- count is exact.
WITH
  subreddits AS (
    SELECT subreddit
    FROM (
      SELECT subreddit
      FROM posts
      WHERE score >= $min_score
        AND NOT list_contains($excluded::VARCHAR[], lower(subreddit))
      GROUP BY subreddit
      ORDER BY count(DISTINCT author) DESC, subreddit
      LIMIT $top_subreddits)
    WHERE len($subreddits::VARCHAR[]) = 0
    UNION
    SELECT DISTINCT subreddit
    FROM posts
    WHERE list_contains($subreddits::VARCHAR[], lower(subreddit)))
SELECT subreddit, title, score
FROM (
  SELECT
    subreddit,
    title,
    score,
    row_number() OVER (PARTITION BY subreddit ORDER BY score DESC NULLS LAST, title) AS score_rank
  FROM (
    SELECT subreddit, title, max(score) AS score
    FROM posts
    WHERE title IS NOT NULL
      AND subreddit IN (SELECT subreddit FROM subreddits)
    GROUP BY subreddit, title))
WHERE score_rank <= $per_subreddit
ORDER BY subreddit, score DESC NULLS LAST, title
