// Package worker is the notifications service's background side: an asynq
// server that delivers notifications (store, live publish, e-mail, push),
// applies recipient-directory events and fans out broadcasts, plus the asynq
// scheduler of the platform's periodic jobs. Its admin port serves health
// and the operator view of the queues; it is never routed publicly.
package worker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynq"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"
	"github.com/robfig/cron/v3"

	"supergraph/platform/config"
	"supergraph/platform/health"
	"supergraph/platform/logging"
	"supergraph/platform/pg"
	"supergraph/platform/redisx"
	"supergraph/platform/services"
	"supergraph/platform/tasks"
	"supergraph/subgraphs/notifications/notify"
	"supergraph/worker/push"
)

// EnvPrefix prefixes every environment variable of the worker.
const EnvPrefix = "WORKER_"

// Config is the worker's configuration. HTTPAddr is the admin port (health
// and the asynq UI), DatabaseURL the notifications database, RedisURL the
// queue's Redis (asynq; pub/sub to the subgraph goes through the same server).
type Config struct {
	config.Service
	SMTP SMTPConfig
	// PublicURL is where links in e-mails point (the web client).
	PublicURL   string `env:"PUBLIC_URL" envDefault:"http://localhost:8080"`
	Concurrency int    `env:"CONCURRENCY" envDefault:"10"`
	// PushWebhookURL receives push messages (see package push); empty turns
	// push delivery off (push:send then records SKIPPED).
	PushWebhookURL    string        `env:"PUSH_WEBHOOK_URL"`
	PushWebhookSecret string        `env:"PUSH_WEBHOOK_SECRET" secret:"true"`
	PushTimeout       time.Duration `env:"PUSH_TIMEOUT" envDefault:"10s"`
	// EmailMaxRetry and PushMaxRetry bound the retries of the tasks the
	// worker enqueues itself; then they are archived for operators.
	EmailMaxRetry int `env:"EMAIL_MAX_RETRY" envDefault:"10"`
	PushMaxRetry  int `env:"PUSH_MAX_RETRY" envDefault:"10"`
	// Retries wait RetryBaseDelay doubled per attempt, up to RetryMaxDelay,
	// with jitter.
	RetryBaseDelay time.Duration `env:"RETRY_BASE_DELAY" envDefault:"5s"`
	RetryMaxDelay  time.Duration `env:"RETRY_MAX_DELAY" envDefault:"30m"`
	// PollInterval is how long an idle worker waits before looking for new
	// tasks again: the worst-case added latency of a live notification,
	// against one small Redis script per interval per idle processor.
	PollInterval time.Duration `env:"POLL_INTERVAL" envDefault:"25ms"`
	// DueCheckInterval is how often retried and delayed tasks that have come
	// due are moved back to their queue (asynq's DelayedTaskCheckInterval),
	// and how often the scheduler publishes its entries for operators.
	DueCheckInterval time.Duration `env:"DUE_CHECK_INTERVAL" envDefault:"5s"`
	// BroadcastBatch is how many recipients one broadcast task delivers to.
	BroadcastBatch int `env:"BROADCAST_BATCH" envDefault:"500"`
	// Scheduler runs the periodic jobs (on every replica: the jobs are
	// idempotent and enqueued as unique tasks).
	Scheduler      bool   `env:"SCHEDULER" envDefault:"true"`
	DigestCron     string `env:"DIGEST_CRON" envDefault:"0 8 * * *"`
	PurgeCron      string `env:"PURGE_CRON" envDefault:"30 3 * * *"`
	TokenPurgeCron string `env:"TOKEN_PURGE_CRON" envDefault:"15 * * * *"`
	// AutoCompleteCron asks the freelance service to complete orders
	// delivered long ago (its FREELANCE_AUTO_COMPLETE_AFTER decides which).
	AutoCompleteCron string `env:"AUTO_COMPLETE_CRON" envDefault:"*/10 * * * *"`
	// PurgeReadAfter is how long read notifications are kept.
	PurgeReadAfter time.Duration `env:"PURGE_READ_AFTER" envDefault:"720h"`
	// Monitor serves the operator view (queues, schedule, retrying and
	// archived tasks with run/delete) at /monitor/ on the admin port.
	Monitor         bool `env:"MONITOR" envDefault:"true"`
	MonitorReadOnly bool `env:"MONITOR_READ_ONLY" envDefault:"false"`
}

// DefaultConfig returns the defaults that run locally.
func DefaultConfig() Config {
	var c Config
	config.Defaults(&c)
	c.HTTPAddr = services.Worker.Addr(services.LocalHost)
	c.DatabaseURL = services.Worker.DatabaseURL(services.LocalHost)
	c.RedisURL = services.Worker.RedisURL(services.LocalHost)
	return c
}

// Validate checks the settings.
func (c Config) Validate() error {
	errs := []error{c.Service.Validate(), c.SMTP.validate()}
	if c.Concurrency < 1 {
		errs = append(errs, errors.New("CONCURRENCY must be at least 1"))
	}
	if c.BroadcastBatch < 1 || c.BroadcastBatch > 10_000 {
		errs = append(errs, errors.New("BROADCAST_BATCH must be between 1 and 10000"))
	}
	if c.RetryBaseDelay <= 0 || c.RetryMaxDelay < c.RetryBaseDelay {
		errs = append(errs, errors.New("RETRY_BASE_DELAY must be positive and at most RETRY_MAX_DELAY"))
	}
	if c.DueCheckInterval <= 0 || c.PollInterval <= 0 {
		errs = append(errs, errors.New("DUE_CHECK_INTERVAL and POLL_INTERVAL must be positive"))
	}
	if c.PurgeReadAfter < time.Hour {
		errs = append(errs, errors.New("PURGE_READ_AFTER must be at least 1h"))
	}
	parser := cron.NewParser(cron.Minute | cron.Hour | cron.Dom | cron.Month | cron.Dow | cron.Descriptor)
	for name, spec := range map[string]string{"DIGEST_CRON": c.DigestCron, "PURGE_CRON": c.PurgeCron, "TOKEN_PURGE_CRON": c.TokenPurgeCron, "AUTO_COMPLETE_CRON": c.AutoCompleteCron} {
		if _, err := parser.Parse(spec); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	return errors.Join(errs...)
}

// Hooks let tests stop a task at chosen points.
type Hooks struct {
	// AfterStore runs in notification:deliver after the notification is
	// stored and published, before e-mail and push are enqueued; an error
	// fails the task there.
	AfterStore func(ctx context.Context, d notify.Delivery) error
}

// Worker is a running worker.
type Worker struct {
	cfg    Config
	log    *slog.Logger
	pool   *pgxpool.Pool
	rdb    *redis.Client
	notify *notify.Service
	mailer *Mailer
	push   push.Provider

	redisOpt  asynq.RedisClientOpt
	client    *asynq.Client
	server    *asynq.Server
	scheduler *asynq.Scheduler
	// Inspector reads queues and tasks (operators, tests).
	Inspector *asynq.Inspector
	Hooks     Hooks
}

// New connects to PostgreSQL and Redis, applies the notifications
// migrations (so the worker may start before the subgraph) and builds the
// asynq server and scheduler. Run starts them.
func New(ctx context.Context, cfg Config, log *slog.Logger) (w *Worker, err error) {
	w = &Worker{cfg: cfg, log: log}
	defer func() {
		if err != nil {
			err = errors.Join(err, w.Close())
		}
	}()
	if w.pool, err = pg.Open(ctx, cfg.DatabaseURL); err != nil {
		return nil, err
	}
	if err = pg.Migrate(ctx, w.pool, log, "notifications"); err != nil {
		return nil, err
	}
	if w.rdb, err = redisx.Open(ctx, cfg.RedisURL); err != nil {
		return nil, err
	}
	if w.redisOpt, err = redisx.AsynqOpt(cfg.RedisURL); err != nil {
		return nil, err
	}
	if w.mailer, err = NewMailer(cfg.SMTP, cfg.PublicURL); err != nil {
		return nil, err
	}
	if cfg.PushWebhookURL != "" {
		w.push = push.NewWebhook(cfg.PushWebhookURL, cfg.PushWebhookSecret, cfg.PushTimeout)
	}
	w.notify = notify.New(w.pool, w.rdb, nil, log)
	w.client = asynq.NewClient(w.redisOpt)
	w.Inspector = asynq.NewInspector(w.redisOpt)
	logger := tasks.Logger{Log: log.With("component", "asynq")}
	w.server = asynq.NewServer(w.redisOpt, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   tasks.Priorities(),
		RetryDelayFunc:           w.retryDelay,
		DelayedTaskCheckInterval: cfg.DueCheckInterval,
		TaskCheckInterval:        cfg.PollInterval,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		Logger:                   logger,
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			retried, _ := asynq.GetRetryCount(ctx)
			maxRetry, _ := asynq.GetMaxRetry(ctx)
			id, _ := asynq.GetTaskID(ctx)
			level := slog.LevelWarn
			switch {
			case errors.Is(err, asynq.SkipRetry) || retried >= maxRetry:
				level = slog.LevelError // archived: an operator has to look
			case errors.Is(err, errNotInDirectoryYet) && retried == 0:
				level = slog.LevelInfo // the usual race with a sign-up's directory event
			}
			log.Log(ctx, level, "task failed", "task_type", t.Type(), "task_id", id,
				"retried", retried, "max_retry", maxRetry, "err", err)
		}),
	})
	if cfg.Scheduler {
		w.scheduler = asynq.NewScheduler(w.redisOpt, &asynq.SchedulerOpts{
			Location: time.UTC,
			// Operators see the schedule (asynqmon) from this heartbeat.
			HeartbeatInterval: cfg.DueCheckInterval,
			Logger:            logger,
			LogLevel:          asynq.WarnLevel,
			PostEnqueueFunc: func(info *asynq.TaskInfo, err error) {
				if err != nil && !errors.Is(err, asynq.ErrDuplicateTask) && !errors.Is(err, asynq.ErrTaskIDConflict) {
					log.Warn("scheduled task not enqueued", "err", err)
				}
			},
		})
		if err = w.registerSchedule(); err != nil {
			return nil, err
		}
	}
	return w, nil
}

// retryDelay doubles from RetryBaseDelay per retry up to RetryMaxDelay, with
// equal jitter, so tasks that failed together (an SMTP outage) do not
// retry in lockstep.
func (w *Worker) retryDelay(n int, _ error, _ *asynq.Task) time.Duration {
	d := w.cfg.RetryMaxDelay
	if n < 32 {
		if s := w.cfg.RetryBaseDelay << n; s > 0 && s < d {
			d = s
		}
	}
	return d/2 + rand.N(d/2+1)
}

// Handler is the admin port: health and, when enabled, asynqmon.
func (w *Worker) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.Handle("GET "+health.Path, health.Handler("notification-worker",
		func(ctx context.Context) error { return w.pool.Ping(ctx) },
		func(ctx context.Context) error { return w.rdb.Ping(ctx).Err() },
	))
	if w.cfg.Monitor {
		(&monitor{insp: w.Inspector, readOnly: w.cfg.MonitorReadOnly, log: w.log}).routes(mux)
		mux.Handle("GET /{$}", http.RedirectHandler("/monitor/", http.StatusFound))
	}
	return logging.Middleware(mux)
}

// Run processes tasks and serves the admin port on ln until ctx is
// cancelled. Shutdown is ordered: the scheduler stops enqueuing, the server
// stops taking tasks and waits up to ShutdownTimeout for those in flight
// (unfinished ones go back to their queue and run again elsewhere), then the
// admin port closes.
func (w *Worker) Run(ctx context.Context, ln net.Listener) error {
	if err := w.server.Start(w.Mux()); err != nil {
		return fmt.Errorf("start task server: %w", err)
	}
	if w.scheduler != nil {
		if err := w.scheduler.Start(); err != nil {
			w.server.Shutdown()
			return fmt.Errorf("start scheduler: %w", err)
		}
	}
	admin := &http.Server{Handler: w.Handler(), ReadHeaderTimeout: 10 * time.Second,
		ErrorLog: slog.NewLogLogger(w.log.Handler(), slog.LevelWarn)}
	failed := make(chan error, 1)
	go func() {
		if err := admin.Serve(ln); !errors.Is(err, http.ErrServerClosed) {
			failed <- fmt.Errorf("admin server: %w", err)
		}
	}()
	w.log.Info("worker running", "admin", "http://"+ln.Addr().String()+"/monitor/", "concurrency", w.cfg.Concurrency)

	var errs []error
	select {
	case <-ctx.Done():
		w.log.Info("shutting down; finishing tasks in flight", "timeout", w.cfg.ShutdownTimeout)
	case err := <-failed:
		errs = append(errs, err)
	}
	if w.scheduler != nil {
		w.scheduler.Shutdown()
	}
	w.server.Shutdown()
	drain, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := admin.Shutdown(drain); err != nil {
		errs = append(errs, fmt.Errorf("admin server: %w", err))
	}
	w.log.Info("stopped")
	return errors.Join(errs...)
}

// Close releases the connections; call it after Run returns.
func (w *Worker) Close() error {
	var errs []error
	if w.Inspector != nil {
		errs = append(errs, w.Inspector.Close())
	}
	if w.client != nil {
		errs = append(errs, w.client.Close())
	}
	if w.rdb != nil {
		errs = append(errs, w.rdb.Close())
	}
	if w.pool != nil {
		w.pool.Close()
	}
	return errors.Join(errs...)
}
