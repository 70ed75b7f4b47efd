-- The seed project's title export, parameterized (BigQuery standard SQL).
--
-- 0. The posts: those of the chosen tables (one table, or one table per month joined with
--    UNION ALL), minus those a safe-default filter leaves out (over 18, quarantined, removed,
--    deleted later, from a subreddit that is not public).
-- 1. Candidate subreddits: those with posts scoring >= min_score, minus excluded, ranked by
--    how many different people post there; the top top_subreddits are kept. When
--    subreddits is not empty, exactly those subreddits are used instead.
-- 2. For each one, its top per_subreddit posts by score over ALL its posts (the score filter
--    applies only to step 1). NULL titles are not candidates. A title posted more than once
--    to a subreddit (a repost, or a month read twice) is one candidate, with its best score.
-- 3. Beside each row: how many posts of the tables each filter matched (counted
--    independently: a post can count under two filters), so one query prices the whole.
-- titlegen cleans the titles (HTML entities, U+FFFD, whitespace), drops empty, [deleted] and
-- [removed] ones and removes repeats afterwards, in Python, so BigQuery and local dumps agree.
--
-- titlegen writes every_post's SELECT from the tables' schemas, read before the query: each
-- table's subreddit, title, score and author, and one BOOL column per filter, TRUE when the
-- filter leaves the post out; a filter that is off (include_nsfw for over_18) or whose column
-- the table lacks is FALSE. Its table names are validated; a table name cannot be a query
-- parameter. Names in excluded and subreddits are lower case; matching ignores case.
-- (Comments here name the query parameters without their @: bqemulator counts them.)
-- Ties are broken by name and title so the same rows always give the same output.
WITH
  every_post AS ${posts},
  posts AS (
    SELECT subreddit, title, score, author
    FROM every_post
    WHERE NOT (over_18 OR quarantined OR removed OR deleted_later OR not_public)),
  subreddits AS (
    SELECT subreddit
    FROM (
      SELECT subreddit
      FROM posts
      WHERE score >= @min_score
        AND LOWER(subreddit) NOT IN UNNEST(@excluded)
      GROUP BY subreddit
      ORDER BY APPROX_COUNT_DISTINCT(author) DESC, subreddit
      LIMIT @top_subreddits)
    WHERE ARRAY_LENGTH(@subreddits) = 0
    UNION DISTINCT
    SELECT DISTINCT subreddit
    FROM posts
    WHERE LOWER(subreddit) IN UNNEST(@subreddits)),
  titles AS (
    SELECT subreddit, title, score
    FROM (
      SELECT
        subreddit,
        title,
        score,
        ROW_NUMBER() OVER (PARTITION BY subreddit ORDER BY score DESC, title) AS score_rank
      FROM (
        SELECT subreddit, title, MAX(score) AS score
        FROM posts
        WHERE title IS NOT NULL
          AND subreddit IN (SELECT subreddit FROM subreddits)
        GROUP BY subreddit, title))
    WHERE score_rank <= @per_subreddit),
  left_out AS (
    SELECT
      COUNTIF(over_18) AS left_out_over_18,
      COUNTIF(quarantined) AS left_out_quarantined,
      COUNTIF(removed) AS left_out_removed,
      COUNTIF(deleted_later) AS left_out_deleted_later,
      COUNTIF(not_public) AS left_out_not_public
    FROM every_post)
-- Joined from left_out, so the counts come back even when no title is selected (one row, its
-- title columns NULL, which titlegen drops).
SELECT titles.subreddit, titles.title, titles.score, left_out.*
FROM left_out LEFT JOIN titles ON TRUE
ORDER BY subreddit, score DESC, title
