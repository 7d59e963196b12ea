package worker_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"supergraph/platform/pg"
	"supergraph/platform/pg/pgtest"
	"supergraph/platform/redisx"
	"supergraph/platform/redisx/redistest"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
	"supergraph/worker"
	"supergraph/worker/mailcatch"
	"supergraph/worker/push"
)

// env is the worker's world: a fresh notifications database, a private Redis,
// a real SMTP server and a real HTTP push endpoint, all on loopback.
type env struct {
	t      *testing.T
	cfg    worker.Config
	db     *pgxpool.Pool
	redis  *redistest.Server
	rdb    *redis.Client
	client *asynq.Client
	insp   *asynq.Inspector
	mail   *mailcatch.Catcher
	push   *pushServer
	// notify is the domain service over the same database (the subgraph's
	// side: preferences, devices, broadcasts).
	notify *notify.Service
	log    *slog.Logger
}

func setup(t *testing.T, opts ...func(*worker.Config)) *env {
	t.Helper()
	return setupOn(t, pgtest.URL(t, "notifications"), redistest.Start(t), opts...)
}

// setupOn is setup on a given notifications database and Redis server (a
// subgraph's, in tests that run the services together).
func setupOn(t *testing.T, databaseURL string, redisSrv *redistest.Server, opts ...func(*worker.Config)) *env {
	t.Helper()
	e := &env{t: t, redis: redisSrv, mail: mailcatch.New(), push: newPushServer(t)}
	e.log = slog.New(slog.NewTextHandler(t.Output(), &slog.HandlerOptions{Level: slog.LevelError}))

	smtpLn, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	served := make(chan error, 1)
	go func() { served <- e.mail.Serve(smtpLn) }() // returns nil once Close ends it
	t.Cleanup(func() {
		require.NoError(t, e.mail.Close())
		require.NoError(t, <-served)
	})

	cfg := worker.DefaultConfig()
	cfg.HTTPAddr = "127.0.0.1:0"
	cfg.DatabaseURL = databaseURL
	cfg.RedisURL = e.redis.URL(3)
	cfg.SMTP.Host = "127.0.0.1"
	cfg.SMTP.Port = smtpLn.Addr().(*net.TCPAddr).Port
	// SMTP_TLS keeps its default (opportunistic): the catcher offers no
	// STARTTLS, as in development.
	cfg.PushWebhookURL = e.push.URL
	cfg.PushWebhookSecret = "push-secret"
	cfg.RetryBaseDelay = 10 * time.Millisecond
	cfg.RetryMaxDelay = 50 * time.Millisecond
	cfg.DueCheckInterval = 50 * time.Millisecond
	cfg.PollInterval = 10 * time.Millisecond
	cfg.ShutdownTimeout = 5 * time.Second
	cfg.Concurrency = 4
	cfg.Scheduler = false
	for _, o := range opts {
		o(&cfg)
	}
	e.cfg = cfg

	ctx := context.Background()
	e.db, err = pg.Open(ctx, cfg.DatabaseURL)
	require.NoError(t, err)
	t.Cleanup(e.db.Close)
	e.rdb, err = redisx.Open(ctx, cfg.RedisURL)
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, e.rdb.Close()) })
	opt, err := redisx.AsynqOpt(cfg.RedisURL)
	require.NoError(t, err)
	e.client = asynq.NewClient(opt)
	t.Cleanup(func() { require.NoError(t, e.client.Close()) })
	e.insp = asynq.NewInspector(opt)
	t.Cleanup(func() { require.NoError(t, e.insp.Close()) })
	// The worker migrates; the database must exist in its final shape
	// before the test's own service uses it.
	require.NoError(t, pg.Migrate(ctx, e.db, e.log, "notifications"))
	e.notify = notify.New(e.db, e.rdb, nil, e.log)
	return e
}

// running is a started worker.
type running struct {
	w     *worker.Worker
	url   string
	stop  context.CancelFunc
	done  chan error
	once  sync.Once
	err   error
	owner *env
}

// start runs a worker (several may run at once, as replicas would).
func (e *env) start(hooks ...worker.Hooks) *running {
	e.t.Helper()
	w, err := worker.New(context.Background(), e.cfg, e.log)
	require.NoError(e.t, err)
	if len(hooks) > 0 {
		w.Hooks = hooks[0]
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(e.t, err)
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{w: w, url: "http://" + ln.Addr().String(), stop: cancel, done: make(chan error, 1), owner: e}
	go func() { r.done <- w.Run(ctx, ln) }()
	e.t.Cleanup(func() {
		require.NoError(e.t, r.shutdown())
		require.NoError(e.t, w.Close())
	})
	return r
}

// shutdown stops the worker and waits for Run to return.
func (r *running) shutdown() error {
	r.once.Do(func() {
		r.stop()
		r.err = <-r.done
	})
	return r.err
}

// recipient puts a user in the directory, as the users service's event does.
func (e *env) recipient(email, name string, roles ...string) uuid.UUID {
	e.t.Helper()
	id := uuid.New()
	if roles == nil {
		roles = []string{}
	}
	require.NoError(e.t, e.notify.ApplyRecipient(context.Background(), tasks.NotificationRecipient{
		UserID: id.String(), Email: email, Username: name, DisplayName: name, Roles: roles, Version: time.Now(),
	}))
	return id
}

// deliver enqueues notification:deliver the way the outbox relay does (the
// event id as task id) and returns the event id.
func (e *env) deliver(user uuid.UUID, kind, title string) string {
	e.t.Helper()
	ev := tasks.NotificationDeliver{
		EventID: uuid.NewString(), RecipientID: user.String(), Kind: kind, Title: title,
		Body: "Body of " + title, Link: "/things/1", CreatedAt: time.Now().UTC(),
	}
	e.enqueue(tasks.TypeNotificationDeliver, ev, ev.EventID)
	return ev.EventID
}

func (e *env) enqueue(taskType string, payload any, id string, opts ...asynq.Option) {
	e.t.Helper()
	body, err := json.Marshal(payload)
	require.NoError(e.t, err)
	opts = append([]asynq.Option{asynq.TaskID(id), asynq.Queue(tasks.QueueFor(taskType)), asynq.Retention(time.Hour)}, opts...)
	_, err = e.client.Enqueue(asynq.NewTask(taskType, body), opts...)
	require.NoError(e.t, err)
}

// waitTask waits until task id in queue reaches state.
func (e *env) waitTask(queue, id string, state asynq.TaskState) *asynq.TaskInfo {
	e.t.Helper()
	var info *asynq.TaskInfo
	require.Eventually(e.t, func() bool {
		var err error
		info, err = e.insp.GetTaskInfo(queue, id)
		return err == nil && info.State == state
	}, 15*time.Second, 10*time.Millisecond, "task %s in %s never reached %v (last: %+v)", id, queue, state, info)
	return info
}

// waitMail waits for a message to addr.
func (e *env) waitMail(addr string) mailcatch.Message {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	m, err := e.mail.Wait(ctx, func(m mailcatch.Message) bool { return len(m.To) > 0 && m.To[0] == addr })
	require.NoError(e.t, err)
	return m
}

func (e *env) mailsTo(addr string) int {
	n := 0
	for _, m := range e.mail.Messages() {
		if len(m.To) > 0 && m.To[0] == addr {
			n++
		}
	}
	return n
}

// status returns a notification's e-mail and push status.
func (e *env) status(id string) (email, pushStatus string) {
	e.t.Helper()
	require.NoError(e.t, e.db.QueryRow(context.Background(),
		"SELECT email_status, push_status FROM notifications WHERE id = $1", id).Scan(&email, &pushStatus))
	return email, pushStatus
}

func (e *env) waitStatus(id, wantEmail, wantPush string) {
	e.t.Helper()
	require.Eventually(e.t, func() bool {
		var email, p string
		err := e.db.QueryRow(context.Background(), "SELECT email_status, push_status FROM notifications WHERE id = $1", id).Scan(&email, &p)
		return err == nil && email == wantEmail && p == wantPush
	}, 15*time.Second, 10*time.Millisecond, "notification %s never reached email=%s push=%s", id, wantEmail, wantPush)
}

func (e *env) count(query string, args ...any) int {
	e.t.Helper()
	var n int
	require.NoError(e.t, e.db.QueryRow(context.Background(), query, args...).Scan(&n))
	return n
}

// pushServer is a real HTTP push endpoint: it records what it receives and
// answers with the status configured per token (200 by default).
type pushServer struct {
	*httptest.Server
	mu       sync.Mutex
	received []push.Message
	status   map[string]int
	sigOK    bool
}

func newPushServer(t *testing.T) *pushServer {
	p := &pushServer{status: map[string]int{}, sigOK: true}
	p.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		var m push.Message
		_ = json.Unmarshal(body, &m)
		p.mu.Lock()
		defer p.mu.Unlock()
		if r.Header.Get(push.SignatureHeader) != push.Sign("push-secret", body) {
			p.sigOK = false
		}
		p.received = append(p.received, m)
		code := p.status[m.Token]
		if code == 0 {
			code = http.StatusOK
		}
		w.WriteHeader(code)
		_, _ = w.Write([]byte(strconv.Itoa(code)))
	}))
	t.Cleanup(p.Close)
	return p
}

func (p *pushServer) answer(token string, code int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.status[token] = code
}

func (p *pushServer) messages() []push.Message {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]push.Message(nil), p.received...)
}
