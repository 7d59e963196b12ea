//go:build bench

package e2e_test

import (
	"context"
	"crypto/rand"
	"fmt"
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/stretchr/testify/require"

	"supergraph/platform/identity"
	"supergraph/platform/pg"
	"supergraph/platform/services"
	"supergraph/subgraphs/content"
	"supergraph/subgraphs/content/community"
)

// Issue 14's queries. bench/loadgen sends a query without variables, so the
// post's id is written into the thread and comments queries.
const (
	contentFeed   = `{ feed(first: 20) { edges { node { id title likeCount commentCount author { id } channel { name } } } } }`
	contentThread = `{ post(id: "%s") { thread(maxDepth: 8, first: 50) { edges { node { id depth body replyCount likeCount author { id } } } } } }`
	// The first page of top-level comments, each with its first replies.
	contentComments = `{ post(id: "%s") { comments(first: 20) { edges { node { id body replyCount likeCount author { id } replies(first: 3) { edges { node { id depth body replyCount likeCount author { id } } } } } } } } }`
)

// The seeded community: benchChannels channels the benchmark's members
// belong to, holding benchPosts published posts, among otherChannels more
// channels (with otherPosts posts) of benchPeople other users.
const (
	benchMembers     = 16
	benchChannels    = 200
	benchPosts       = 100_000
	otherChannels    = 800
	otherPosts       = 50_000
	benchDrafts      = 2_000
	benchPeople      = 2_000
	peoplePerChannel = 40 // besides the owner
	threadComments   = 500
	threadTopLevel   = 50
	threadMaxDepth   = 12
	commentedEvery   = 50 // every 50th post has 10 top-level comments
	commentsPerPost  = 10
)

// BenchmarkContent is issue 14's benchmark, the content part of `make
// bench`: a fixed-duration load measurement run once per call (see
// measureOnce; -benchtime=1x). Like BenchmarkGigCatalogue it runs every
// subgraph in this process, the router as its own process on the committed
// graph, and bench/loadgen pinned to one core at 16 connections, each its own
// signed-in member (so the router's de-duplication cannot flatter the
// figures).
//
// The data is written straight into the content database with SQL (through
// GraphQL it would take many minutes), keeping the schema's invariants:
// 1,000 channels, the 16 members belonging to the same 200 of them, which
// hold 100,000 of the 150,000 published posts (dense channel_seq; post_seq,
// post_count, last_post_at and member_count agreeing with the rows), 2,000
// drafts, hidden and deleted posts, likes, 30,000 comments on other posts,
// and a post with a 500-comment thread: 50 top-level comments and replies
// down to depth 9 (materialized paths, reply_count, comment_count,
// comment_seq). Then VACUUM ANALYZE, which leaves the tables as autovacuum
// does at best: every page all-visible, so index-only scans need no heap.
//
// Measured, first straight from the content subgraph (for what the router
// adds), then through the router as a client: the feed (20 posts of the
// member's 200 channels), the thread's first page (maxDepth 8, 50 comments)
// and the first page of top-level comments with their first 3 replies. Each
// line has RPS, p50/p99, errors and CPU per request of the router, this
// process (the subgraphs), PostgreSQL (the content database's backends),
// Redis and the load generator, and what other processes on the machine and
// idle time took. The feed statement's EXPLAIN (ANALYZE, BUFFERS) is logged
// once. BENCH_PROFILE_DIR=dir writes a CPU profile of this process per run.
// Built only with the bench tag: `make bench` (BENCH_DURATION, default 5s).
func BenchmarkContent(b *testing.B) {
	measureOnce(b)
	dur := 5 * time.Second
	if d, err := time.ParseDuration(os.Getenv("BENCH_DURATION")); err == nil {
		dur = d
	}
	subgraphGC(b)
	dir := benchBinaries(b)
	ctx := context.Background()

	// Every registered subgraph, as startSubgraphs, keeping the content
	// database's URL for the seed.
	p := newPlatform(b)
	p.subgraphURLs = map[string]string{}
	var contentDB string
	for _, s := range services.Subgraphs {
		cfg := p.subgraphConfig(s)
		if s.Name == content.Service.Name {
			contentDB = cfg.DatabaseURL
		}
		p.subgraphURLs[s.Name] = subgraphStarters[s.Name](p, cfg)
	}
	routerURL, routerPID := p.routerProcess(dir, "content", p.usersURL)
	p.url = routerURL
	contentURL := p.subgraphURLs[content.Service.Name]

	tokens, memberIDs := make([]string, benchMembers), make([]string, benchMembers)
	var wg sync.WaitGroup
	errs := make([]error, benchMembers)
	for i := range benchMembers {
		wg.Go(func() {
			a, err := p.registerRequest(fmt.Sprintf("bench_member_%02d", i))
			tokens[i], memberIDs[i], errs[i] = "Bearer "+a.Token, a.ID, err
		})
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(b, err)
	}
	tokenFile := filepath.Join(dir, "tokens")
	require.NoError(b, os.WriteFile(tokenFile, []byte(strings.Join(tokens, "\n")), 0o600))

	db, err := pg.Open(ctx, contentDB)
	require.NoError(b, err)
	b.Cleanup(db.Close)
	start := time.Now()
	threadPost := seedContent(b, db, memberIDs)
	var channels, memberships, posts, likes, comments int
	require.NoError(b, db.QueryRow(ctx, `SELECT (SELECT count(*) FROM channels), (SELECT count(*) FROM memberships),
		(SELECT count(*) FROM posts), (SELECT count(*) FROM post_likes) + (SELECT count(*) FROM comment_likes), (SELECT count(*) FROM comments)`).
		Scan(&channels, &memberships, &posts, &likes, &comments))
	b.Logf("seeded in %.1f s (SQL, then VACUUM ANALYZE): %d channels, %d memberships, %d posts, %d likes, %d comments; each member is in %d channels holding %d published posts",
		time.Since(start).Seconds(), channels, memberships, posts, likes, comments, benchChannels, benchPosts)

	thread, commentsPage := fmt.Sprintf(contentThread, threadPost), fmt.Sprintf(contentComments, threadPost)
	checkContentAnswers(b, p, db, memberIDs[0], strings.TrimPrefix(tokens[0], "Bearer "), thread, commentsPage)
	explainFeed(b, db, memberIDs[0])
	db.Close() // from here on, the content database serves the subgraph only

	// assertionFile holds one fresh internal assertion per member (they live
	// a minute), for loading the content subgraph without the router.
	assertionFile := func() string {
		var as []string
		for _, id := range memberIDs {
			a, err := identity.NewSigner(p.routerKey).Sign(identity.Principal{UserID: id}, content.Service.Name)
			require.NoError(b, err)
			as = append(as, a)
		}
		path := filepath.Join(dir, "assertions")
		require.NoError(b, os.WriteFile(path, []byte(strings.Join(as, "\n")), 0o600))
		return path
	}

	// PostgreSQL's share: the CPU time of the content database's backends
	// (the subgraph's pool), read from /proc by the pids PostgreSQL reports.
	pgConn, err := pg.Open(ctx, contentDB+"&pool_max_conns=1")
	require.NoError(b, err)
	b.Cleanup(pgConn.Close)
	backends := func() map[int]int64 {
		rows, err := pgConn.Query(ctx, `SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()`)
		require.NoError(b, err)
		out := map[int]int64{}
		for rows.Next() {
			var pid int
			require.NoError(b, rows.Scan(&pid))
			if _, err := os.Stat(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
				out[pid] = cpuTicks(b, pid)
			}
		}
		require.NoError(b, rows.Err())
		return out
	}
	pgTicks := func(before map[int]int64) int64 {
		var n int64
		for pid, t := range backends() {
			n += t - before[pid] // a backend that started during the run counts from zero
		}
		return n
	}

	// Redis (the content subgraph's row cache, the router's rate limits):
	// the platform's private redis-server.
	info, err := p.redisClient(0).Info(ctx, "server").Result()
	require.NoError(b, err)
	_, redisPID, _ := strings.Cut(info, "process_id:")
	redisPID, _, _ = strings.Cut(redisPID, "\r\n")
	redisProc, err := strconv.Atoi(strings.TrimSpace(redisPID))
	require.NoError(b, err)

	type result struct {
		loadResult
		// CPU per request, µs; others is the machine's busy time that
		// none of the above accounts for (other processes on the machine).
		router, subgraphs, postgres, redis, loadgen, others, idle float64
	}
	self := os.Getpid()
	run := func(name, url string, pid int, query, header, values string) result {
		router0, subgraphs0, pg0, redis0, loadgen0 := cpuTicks(b, pid), cpuTicks(b, self), backends(), cpuTicks(b, redisProc), childTicks(b)
		busy0, idle0 := busyTicks(b), idleTicks(b)
		stop := profile(b, name)
		r := result{loadResult: runLoad(b, dir, url+"/graphql", 16, dur, time.Second, query, header, values)}
		stop()
		router, subgraphs, postgres := cpuTicks(b, pid)-router0, cpuTicks(b, self)-subgraphs0, pgTicks(pg0)
		redis, loadgen := cpuTicks(b, redisProc)-redis0, childTicks(b)-loadgen0
		r.router, r.subgraphs, r.postgres = perRequest(router, r.loadResult, dur), perRequest(subgraphs, r.loadResult, dur), perRequest(postgres, r.loadResult, dur)
		r.redis, r.loadgen = perRequest(redis, r.loadResult, dur), perRequest(loadgen, r.loadResult, dur)
		r.others = perRequest(max(0, busyTicks(b)-busy0-router-subgraphs-postgres-redis-loadgen), r.loadResult, dur)
		r.idle = perRequest(idleTicks(b)-idle0, r.loadResult, dur)
		b.Logf("%-40s c=16  %6.0f req/s  p50 %7.3f ms  p99 %7.3f ms  errors %d  CPU/req: router %s, subgraphs %s, PostgreSQL %s, Redis %s, load generator %s; other processes %s, idle %s",
			name, r.RPS, r.P50, r.P99, r.Err, cpuText(r.router), cpuText(r.subgraphs), cpuText(r.postgres), cpuText(r.redis),
			cpuText(r.loadgen), cpuText(r.others), cpuText(r.idle))
		return r
	}

	// An unmeasured pass of each query first: the pools fill, the caches
	// (rows in Redis, PostgreSQL's buffers and plans) warm up.
	workloads := []struct{ name, label, query string }{
		{"feed", "feed(first: 20), 200 channels", contentFeed},
		{"thread", "thread(maxDepth: 8, first: 50)", thread},
		{"comments", "comments(first: 20) + replies(3)", commentsPage},
	}
	for _, w := range workloads {
		runLoad(b, dir, routerURL+"/graphql", 16, 2*time.Second, 0, w.query, "Authorization", tokenFile)
	}
	direct, routed := map[string]result{}, map[string]result{}
	for _, w := range workloads {
		direct[w.name] = run("content subgraph directly: "+w.name, contentURL, 0, w.query, identity.Header, assertionFile())
	}
	for _, w := range workloads {
		routed[w.name] = run("router: "+w.label, routerURL, routerPID, w.query, "Authorization", tokenFile)
	}

	met := func(ok bool) string {
		if ok {
			return "met"
		}
		return "NOT met"
	}
	feed, threadRun := routed["feed"], routed["thread"]
	b.Logf("issue 14 target, feed: >= 1000 req/s with p99 <= 50 ms: %.0f req/s, p99 %.3f ms: %s",
		feed.RPS, feed.P99, met(feed.RPS >= 1000 && feed.P99 <= 50))
	b.Logf("issue 14 target, thread: >= 300 req/s: %.0f req/s (p99 %.3f ms): %s", threadRun.RPS, threadRun.P99, met(threadRun.RPS >= 300))
	// What the machine allows: the platform's CPU per request against every
	// core, as if nothing else ran.
	for _, w := range workloads {
		r := routed[w.name]
		total := r.router + r.subgraphs + r.postgres + r.redis + r.loadgen
		b.Logf("%-8s CPU per request through the router %5.0f µs (router %2.0f%%, subgraphs %2.0f%%, PostgreSQL %2.0f%%, Redis %2.0f%%, load generator %2.0f%%): at most %4.0f req/s on %d cores; router/direct throughput %3.0f%%",
			w.name+":", total, 100*r.router/total, 100*r.subgraphs/total, 100*r.postgres/total, 100*r.redis/total, 100*r.loadgen/total,
			float64(runtime.NumCPU())*1e6/total, runtime.NumCPU(), 100*r.RPS/direct[w.name].RPS)
	}
	rss := peakRSS(b, routerPID)
	b.Logf("router peak RSS: %.0f kB", rss)

	failed := 0
	for _, w := range workloads {
		r := routed[w.name]
		b.ReportMetric(r.RPS, w.name+"-req/s")
		b.ReportMetric(r.P50, w.name+"-p50-ms")
		b.ReportMetric(r.P99, w.name+"-p99-ms")
		b.ReportMetric(r.router, w.name+"-router-µs/req")
		b.ReportMetric(r.subgraphs, w.name+"-subgraphs-µs/req")
		b.ReportMetric(r.postgres, w.name+"-pg-µs/req")
		b.ReportMetric(direct[w.name].RPS, "direct-"+w.name+"-req/s")
		failed += r.Err + direct[w.name].Err
	}
	b.ReportMetric(float64(failed), "errors")
	b.ReportMetric(rss/1024, "router-peak-MB")
}

// seedContent writes the benchmark's community into the content database
// (see BenchmarkContent), the members being memberIDs, and returns the id of
// the post with the 500-comment thread. Temporary tables hold the generated
// rows so that every counter is computed from what is inserted.
func seedContent(b *testing.B, db *pgxpool.Pool, memberIDs []string) string {
	b.Helper()
	ctx := context.Background()
	tx, err := db.Begin(ctx)
	require.NoError(b, err)
	defer func() { _ = tx.Rollback(ctx) }() // a no-op after Commit
	exec := func(sql string, args ...any) {
		b.Helper()
		_, err := tx.Exec(ctx, sql, args...)
		require.NoError(b, err, "%s", sql)
	}
	// person(c, k) is the k-th person of channel c (k = 0 its owner): the
	// same rule places members, authors and likes.
	person := func(c, k string) string { return fmt.Sprintf("(%s * 53 + %s * 7) %% %d", c, k, benchPeople) }

	exec(`SELECT setseed(0.14)`)
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_people ON COMMIT DROP AS
		SELECT n, gen_random_uuid() AS id FROM generate_series(0, %d) n`, benchPeople-1))
	exec(`ALTER TABLE seed_people ADD PRIMARY KEY (n)`)
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_channels ON COMMIT DROP AS
		SELECT c, gen_random_uuid() AS id, now() - interval '400 days' + c * interval '1 minute' AS created_at
		FROM generate_series(1, %d) c`, benchChannels+otherChannels))
	// Channels past the members' 200 are private when c % 10 = 0.
	private := fmt.Sprintf(`c.c > %d AND c.c %% 10 = 0`, benchChannels)

	// Memberships: each channel's owner (k = 0), 2 admins and 38 members
	// from the people; the 16 members in the first 200 channels; three
	// pending requests in each private channel.
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_members ON COMMIT DROP AS
		SELECT c.c, p.id AS user_id, 'MEMBER'::membership_status AS status,
			(CASE WHEN k = 0 THEN 'OWNER' WHEN k <= 2 THEN 'ADMIN' ELSE 'MEMBER' END)::channel_role AS role, k,
			CASE WHEN k = 0 THEN c.created_at ELSE c.created_at + random() * interval '30 days' END AS since
		FROM seed_channels c CROSS JOIN generate_series(0, %d) k JOIN seed_people p ON p.n = %s`, peoplePerChannel, person("c.c", "k")))
	exec(fmt.Sprintf(`INSERT INTO seed_members
		SELECT c.c, m.id, 'MEMBER', 'MEMBER', 100 + m.i, c.created_at + random() * interval '30 days'
		FROM seed_channels c CROSS JOIN unnest($1::uuid[]) WITH ORDINALITY AS m(id, i) WHERE c.c <= %d`, benchChannels), memberIDs)
	exec(fmt.Sprintf(`INSERT INTO seed_members
		SELECT c.c, p.id, 'REQUESTED', NULL, k, now() - random() * interval '10 days'
		FROM seed_channels c CROSS JOIN generate_series(%d, %d) k JOIN seed_people p ON p.n = %s
		WHERE %s`, peoplePerChannel+1, peoplePerChannel+3, person("c.c", "k"), private))

	// Posts: benchPosts in the members' channels (skewed: the first
	// channels are the busiest), otherPosts elsewhere, published over the
	// past year by the channel's people; 0.5 % hidden, 0.5 % deleted; and
	// drafts, which have no place in their channel.
	published := benchPosts + otherPosts
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_posts ON COMMIT DROP AS
		SELECT n, gen_random_uuid() AS id, c, k, at, n <= %[2]d AS published,
			n <= %[2]d AND r < 0.005 AS hidden, n <= %[2]d AND r >= 0.995 AS deleted
		FROM (SELECT n,
			CASE WHEN n <= %[1]d THEN 1 + floor(%[4]d * random() ^ 2)::int
			     WHEN n <= %[2]d THEN %[4]d + 1 + floor(%[5]d * random())::int
			     ELSE 1 + floor(%[4]d * random())::int END AS c,
			floor(random() * %[6]d)::int AS k,
			now() - random() * interval '365 days' AS at,
			random() AS r
			FROM generate_series(1, %[3]d) n) s`,
		benchPosts, published, published+benchDrafts, benchChannels, otherChannels, peoplePerChannel+1))
	exec(`ALTER TABLE seed_posts ADD PRIMARY KEY (id)`)
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_likes ON COMMIT DROP AS
		SELECT p.id AS post_id, m.id AS user_id, least(now(), p.at + random() * interval '1 day') AS created_at
		FROM seed_posts p CROSS JOIN generate_series(1, 10) AS g(k) JOIN seed_people m ON m.n = %s
		WHERE p.published AND NOT p.deleted AND random() < 0.2`, person("p.c", "g.k")))
	exec(fmt.Sprintf(`CREATE TEMP TABLE seed_comments ON COMMIT DROP AS
		SELECT gen_random_uuid() AS id, p.id AS post_id, j AS seq, lpad(j::text, 10, '0') AS path, m.id AS author_id,
			'Comment ' || j || ' on post ' || p.n AS body, least(now(), p.at + j * interval '10 minutes') AS created_at
		FROM seed_posts p CROSS JOIN generate_series(1, %d) j JOIN seed_people m ON m.n = %s
		WHERE p.published AND NOT p.deleted AND p.n %% %d = 0`,
		commentsPerPost, person("p.c", fmt.Sprintf("((p.n + j) %% %d)", peoplePerChannel+1)), commentedEvery))

	exec(fmt.Sprintf(`WITH mc AS (SELECT c, count(*) FILTER (WHERE status = 'MEMBER') AS n FROM seed_members GROUP BY c),
		pc AS (SELECT c, count(*) FILTER (WHERE published AND NOT deleted) AS live, count(*) FILTER (WHERE published) AS seq,
			max(at) FILTER (WHERE published) AS last FROM seed_posts GROUP BY c)
		INSERT INTO channels (id, slug, name, description, visibility, owner_id, member_count, post_count, post_seq, last_post_at, created_at, updated_at)
		SELECT c.id, 'bench-' || c.c, CASE WHEN c.c <= %d THEN 'Followed ' ELSE 'Channel ' END || c.c,
			'Channel ' || c.c || ' of the content benchmark: news, questions and show-and-tell.',
			(CASE WHEN %s THEN 'PRIVATE' ELSE 'PUBLIC' END)::channel_visibility, o.user_id,
			coalesce(mc.n, 0), coalesce(pc.live, 0), coalesce(pc.seq, 0), pc.last, c.created_at, c.created_at
		FROM seed_channels c JOIN seed_members o ON o.c = c.c AND o.role = 'OWNER'
		LEFT JOIN mc ON mc.c = c.c LEFT JOIN pc ON pc.c = c.c
		ORDER BY c.c`, benchChannels, private))
	exec(`INSERT INTO memberships (channel_id, user_id, status, role, since)
		SELECT c.id, m.user_id, m.status, m.role, m.since FROM seed_members m JOIN seed_channels c ON c.c = m.c ORDER BY m.since`)
	exec(`WITH lc AS (SELECT post_id, count(*) AS n FROM seed_likes GROUP BY post_id),
		cc AS (SELECT post_id, count(*) AS n FROM seed_comments GROUP BY post_id)
		INSERT INTO posts (id, channel_id, author_id, title, body, status, channel_seq, like_count, comment_count, comment_seq,
			hidden_at, hidden_reason, published_at, created_at, updated_at, deleted_at)
		SELECT p.id, c.id, a.user_id,
			'Post ' || p.n || ': ' || (ARRAY['release notes', 'a question', 'show and tell', 'weekly thread', 'help wanted', 'announcement'])[1 + p.n % 6],
			left(repeat('Lorem ipsum dolor sit amet, consectetur adipiscing elit. ', 40), 80 + (p.n * 7919) % 1500),
			(CASE WHEN p.published THEN 'PUBLISHED' ELSE 'DRAFT' END)::post_status,
			CASE WHEN p.published THEN row_number() OVER (PARTITION BY p.c, p.published ORDER BY p.at, p.id) END,
			coalesce(lc.n, 0), coalesce(cc.n, 0), coalesce(cc.n, 0),
			CASE WHEN p.hidden THEN least(now(), p.at + interval '1 hour') END, CASE WHEN p.hidden THEN 'Off topic' END,
			CASE WHEN p.published THEN p.at END, p.at - interval '10 minutes', p.at,
			CASE WHEN p.deleted THEN least(now(), p.at + interval '2 hours') END
		FROM seed_posts p JOIN seed_channels c ON c.c = p.c JOIN seed_members a ON a.c = p.c AND a.k = p.k
		LEFT JOIN lc ON lc.post_id = p.id LEFT JOIN cc ON cc.post_id = p.id
		ORDER BY p.at`)
	exec(`INSERT INTO post_likes (post_id, user_id, created_at) SELECT post_id, user_id, created_at FROM seed_likes`)
	exec(`INSERT INTO comments (id, post_id, seq, path, depth, author_id, body, created_at)
		SELECT id, post_id, seq, path, 0, author_id, body, created_at FROM seed_comments`)

	// The thread: on the newest visible post of the busiest channel that has
	// no comments yet, written by the channel's members.
	var post string
	var authors []string
	require.NoError(b, tx.QueryRow(ctx, fmt.Sprintf(`SELECT id::text FROM seed_posts
		WHERE c = 1 AND published AND NOT hidden AND NOT deleted AND n %% %d <> 0 ORDER BY at DESC LIMIT 1`, commentedEvery)).Scan(&post))
	require.NoError(b, tx.QueryRow(ctx, `SELECT array_agg(user_id::text ORDER BY k) FROM seed_members WHERE c = 1 AND status = 'MEMBER'`).Scan(&authors))
	t := newThread(authors)
	exec(`INSERT INTO comments (id, post_id, parent_id, seq, path, depth, author_id, body, like_count, reply_count, created_at)
		SELECT t.id, p.id, t.parent, t.seq, t.path, t.depth, t.author, t.body, t.likes, t.replies,
			p.published_at + (now() - p.published_at) * (t.seq / $11::float8)
		FROM unnest($2::uuid[], $3::uuid[], $4::bigint[], $5::text[], $6::int[], $7::uuid[], $8::text[], $9::int[], $10::int[])
			AS t(id, parent, seq, path, depth, author, body, likes, replies)
		CROSS JOIN posts p WHERE p.id = $1`,
		post, t.ids, t.parents, t.seqs, t.paths, t.depths, t.authors, t.bodies, t.likes, t.replies, len(t.ids)+1)
	exec(`INSERT INTO comment_likes (comment_id, user_id, created_at)
		SELECT l.comment_id, l.user_id, c.created_at FROM unnest($1::uuid[], $2::uuid[]) AS l(comment_id, user_id) JOIN comments c ON c.id = l.comment_id`,
		t.likeComments, t.likeUsers)
	exec(`UPDATE posts SET comment_count = $2::int, comment_seq = $2::int WHERE id = $1`, post, len(t.ids))
	require.NoError(b, tx.Commit(ctx))
	_, err = db.Exec(ctx, `VACUUM (ANALYZE) channels, memberships, posts, post_likes, comments, comment_likes`)
	require.NoError(b, err)

	depths := map[int32]int{}
	for _, d := range t.depths {
		depths[d]++
	}
	var shape []string
	for d := range int32(threadMaxDepth + 1) {
		if depths[d] > 0 {
			shape = append(shape, fmt.Sprintf("%d at depth %d", depths[d], d))
		}
	}
	b.Logf("thread of post %s: %d comments: %s", post, len(t.ids), strings.Join(shape, ", "))
	return post
}

// thread is a generated comment tree, as columns, in creation (seq) order.
type thread struct {
	ids, paths, authors, bodies []string
	parents                     []*string
	seqs                        []int64
	depths, likes, replies      []int32
	likeComments, likeUsers     []string
}

// newThread grows a 500-comment thread the way conversations grow: every
// tenth comment starts a new top-level one (50 in all), the others reply to
// an earlier comment, a top-level one for 30 % of them and any earlier reply
// for the rest, never deeper than threadMaxDepth. Each gets 0 to 3 likes.
func newThread(authors []string) thread {
	r := mathrand.New(mathrand.NewPCG(14, 500))
	var t thread
	var top, deeper []int
	for i := range threadComments {
		seq := int64(i + 1)
		t.ids = append(t.ids, newUUID())
		t.seqs = append(t.seqs, seq)
		t.authors = append(t.authors, authors[r.IntN(len(authors))])
		t.replies = append(t.replies, 0)
		t.likes = append(t.likes, 0)
		parent := -1
		if i%(threadComments/threadTopLevel) != 0 {
			for parent < 0 || t.depths[parent] >= threadMaxDepth {
				if len(deeper) == 0 || r.IntN(10) < 3 {
					parent = top[r.IntN(len(top))]
				} else {
					parent = deeper[r.IntN(len(deeper))]
				}
			}
		}
		path := fmt.Sprintf("%010d", seq)
		if parent < 0 {
			t.parents, t.depths, t.paths = append(t.parents, nil), append(t.depths, 0), append(t.paths, path)
			top = append(top, i)
		} else {
			t.parents = append(t.parents, &t.ids[parent])
			t.depths, t.paths = append(t.depths, t.depths[parent]+1), append(t.paths, t.paths[parent]+"."+path)
			t.replies[parent]++
			deeper = append(deeper, i)
		}
		t.bodies = append(t.bodies, fmt.Sprintf("Comment %d at depth %d: %s", seq, t.depths[i],
			strings.Repeat("well argued, and here is why. ", 1+r.IntN(6))))
		for _, u := range r.Perm(len(authors))[:r.IntN(4)] {
			t.likeComments, t.likeUsers = append(t.likeComments, t.ids[i]), append(t.likeUsers, authors[u])
			t.likes[i]++
		}
	}
	return t
}

// newUUID is a random (version 4) UUID.
func newUUID() string {
	var u [16]byte
	_, _ = rand.Read(u[:]) // never fails (crypto/rand)
	u[6], u[8] = u[6]&0x0f|0x40, u[8]&0x3f|0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:])
}

// checkContentAnswers asks the three measured queries once through the
// router as a member, and checks that they answer what the seed holds: the
// feed is the member's 20 newest visible posts (compared with a plain SQL
// query), the thread's first page has 50 comments of mixed depths down to 8,
// the comments page 20 top-level comments with their replies.
func checkContentAnswers(b *testing.B, p *platform, db *pgxpool.Pool, member, token, thread, comments string) {
	b.Helper()
	ctx := context.Background()
	rows, err := db.Query(ctx, `SELECT p.id::text FROM posts p
		JOIN memberships m ON m.channel_id = p.channel_id AND m.user_id = $1 AND m.status = 'MEMBER'
		WHERE p.status = 'PUBLISHED' AND p.deleted_at IS NULL AND (p.hidden_at IS NULL OR p.author_id = $1)
		ORDER BY p.published_at DESC, p.id DESC LIMIT 20`, member)
	require.NoError(b, err)
	var want []any
	for rows.Next() {
		var id string
		require.NoError(b, rows.Scan(&id))
		want = append(want, id)
	}
	require.NoError(b, rows.Err())
	var got []any
	for _, e := range dig(p.ok(token, contentFeed, nil), "feed", "edges").([]any) {
		got = append(got, dig(e, "node", "id"))
		require.True(b, strings.HasPrefix(dig(e, "node", "channel", "name").(string), "Followed "), "feed posts come from the member's channels")
	}
	require.Equal(b, want, got, "the feed is the member's 20 newest visible posts")

	edges := dig(p.ok(token, thread, nil), "post", "thread", "edges").([]any)
	require.Len(b, edges, 50)
	depths := map[float64]bool{}
	for _, e := range edges {
		d := dig(e, "node", "depth").(float64)
		require.LessOrEqual(b, d, 8.0)
		depths[d] = true
	}
	require.Greater(b, len(depths), 3, "the thread's first page has mixed depths")

	edges = dig(p.ok(token, comments, nil), "post", "comments", "edges").([]any)
	require.Len(b, edges, 20)
	replies := 0
	for _, e := range edges {
		n := len(dig(e, "node", "replies", "edges").([]any))
		require.Equal(b, min(3, int(dig(e, "node", "replyCount").(float64))), n)
		replies += n
	}
	require.Positive(b, replies)
}

// explainFeed logs the plan and timing of the feed statement the content
// subgraph runs (store.ListFeed, read from its generated code so that it is
// the statement itself) for member's first page, as PostgreSQL plans it for
// these parameters and as a generic plan (what a prepared statement may
// switch to after five runs), and its mean time over 200 runs on one
// connection without EXPLAIN's instrumentation.
func explainFeed(b *testing.B, db *pgxpool.Pool, member string) {
	b.Helper()
	ctx := context.Background()
	src, err := os.ReadFile("../subgraphs/content/store/posts.sql.go")
	require.NoError(b, err)
	_, sql, ok := strings.Cut(string(src), "const listFeed = `")
	require.True(b, ok, "no listFeed in store/posts.sql.go")
	sql, _, _ = strings.Cut(sql, "`")
	args := []any{member, nil, "00000000-0000-0000-0000-000000000000", community.DefaultFirst + 1}

	conn, err := db.Acquire(ctx)
	require.NoError(b, err)
	defer conn.Release()
	explain := func(generic bool) []string {
		tx, err := conn.Begin(ctx)
		require.NoError(b, err)
		defer func() { _ = tx.Rollback(ctx) }()
		if generic {
			_, err := tx.Exec(ctx, `SET LOCAL plan_cache_mode = force_generic_plan`)
			require.NoError(b, err)
		}
		var plan []string
		for range 3 { // the last of three: warm
			plan = plan[:0]
			rows, err := tx.Query(ctx, "EXPLAIN (ANALYZE, BUFFERS) "+sql, args...)
			require.NoError(b, err)
			for rows.Next() {
				var line string
				require.NoError(b, rows.Scan(&line))
				plan = append(plan, line)
			}
			require.NoError(b, rows.Err())
		}
		return plan
	}
	b.Logf("EXPLAIN (ANALYZE, BUFFERS) of the feed statement (ListFeed), first page of a member of 200 channels:\n\t%s",
		strings.Join(explain(false), "\n\t"))
	generic := explain(true)
	b.Logf("generic plan: %s", strings.Join(generic[len(generic)-2:], "; "))

	const runs = 200
	start := time.Now()
	for range runs {
		rows, err := conn.Query(ctx, sql, args...)
		require.NoError(b, err)
		n := 0
		for rows.Next() {
			n++
		}
		require.NoError(b, rows.Err())
		require.Equal(b, community.DefaultFirst+1, n)
	}
	b.Logf("feed statement alone: %.3f ms a run (mean of %d, one connection, prepared)", time.Since(start).Seconds()*1000/runs, runs)
}

// profile starts a CPU profile of this process (the subgraphs) for the run
// called name when BENCH_PROFILE_DIR names a directory, and returns what
// stops it. (The router profiles itself on ROUTER_DEBUG_ADDR, which
// routerProcess passes on.)
func profile(b *testing.B, name string) func() {
	b.Helper()
	dir := os.Getenv("BENCH_PROFILE_DIR")
	if dir == "" {
		return func() {}
	}
	path := filepath.Join(dir, strings.NewReplacer(" ", "_", ":", "", "/", "_", "(", "", ")", "", ",", "").Replace(name)+".pprof")
	f, err := os.Create(path)
	require.NoError(b, err)
	require.NoError(b, pprof.StartCPUProfile(f))
	return func() {
		pprof.StopCPUProfile()
		require.NoError(b, f.Close())
		b.Logf("CPU profile of the subgraphs: %s", path)
	}
}

// busyTicks is the machine's busy time over all cores (/proc/stat: user,
// nice, system, irq, softirq, steal).
func busyTicks(t testing.TB) int64 {
	b, err := os.ReadFile("/proc/stat")
	require.NoError(t, err)
	cpu, _, _ := strings.Cut(string(b), "\n")
	f := strings.Fields(cpu)
	var n int64
	for _, i := range []int{1, 2, 3, 6, 7, 8} {
		v, _ := strconv.ParseInt(f[i], 10, 64)
		n += v
	}
	return n
}
