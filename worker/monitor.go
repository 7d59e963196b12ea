package worker

import (
	"encoding/json"
	"errors"
	"html/template"
	"log/slog"
	"net/http"
	"slices"
	"time"
	"unicode/utf8"

	"github.com/hibiken/asynq"
)

// monitor is the operator view on the admin port, built on asynq's
// Inspector: every queue's counts, the schedule, the workers, and the tasks
// that need attention (retrying and archived, with their last error), where
// an archived task can be run again or deleted. It never goes through the
// public router.
type monitor struct {
	insp     *asynq.Inspector
	readOnly bool
	log      *slog.Logger
}

// attentionPage bounds how many retrying and archived tasks a queue shows.
const attentionPage = 50

type queueView struct {
	*asynq.QueueInfo
	RetryingTasks []taskView `json:"retryingTasks"`
	ArchivedTasks []taskView `json:"archivedTasks"`
}

type taskView struct {
	ID            string    `json:"id"`
	Type          string    `json:"type"`
	Payload       string    `json:"payload"`
	Retried       int       `json:"retried"`
	MaxRetry      int       `json:"maxRetry"`
	LastErr       string    `json:"lastError"`
	LastFailedAt  time.Time `json:"lastFailedAt"`
	NextProcessAt time.Time `json:"nextProcessAt"`
}

func toTaskView(t *asynq.TaskInfo) taskView {
	payload := string(t.Payload)
	if len(payload) > 300 {
		payload = payload[:300]
		for !utf8.ValidString(payload) {
			payload = payload[:len(payload)-1]
		}
		payload += "…"
	}
	return taskView{ID: t.ID, Type: t.Type, Payload: payload, Retried: t.Retried, MaxRetry: t.MaxRetry,
		LastErr: t.LastErr, LastFailedAt: t.LastFailedAt, NextProcessAt: t.NextProcessAt}
}

type overview struct {
	Queues    []queueView         `json:"queues"`
	Schedule  []scheduleView      `json:"schedule"`
	Servers   []*asynq.ServerInfo `json:"servers"`
	ReadOnly  bool                `json:"readOnly"`
	Generated time.Time           `json:"generated"`
	Errors    []string            `json:"errors,omitempty"`
}

type scheduleView struct {
	Spec  string    `json:"spec"`
	Type  string    `json:"type"`
	Next  time.Time `json:"next"`
	Prev  time.Time `json:"prev"`
	Entry string    `json:"id"`
}

func (m *monitor) overview() overview {
	o := overview{ReadOnly: m.readOnly, Generated: time.Now().UTC()}
	fail := func(err error) { o.Errors = append(o.Errors, err.Error()) }
	queues, err := m.insp.Queues()
	if err != nil {
		fail(err)
	}
	slices.Sort(queues)
	for _, q := range queues {
		info, err := m.insp.GetQueueInfo(q)
		if err != nil {
			fail(err)
			continue
		}
		v := queueView{QueueInfo: info, RetryingTasks: []taskView{}, ArchivedTasks: []taskView{}}
		if info.Retry > 0 {
			tasks, err := m.insp.ListRetryTasks(q, asynq.PageSize(attentionPage))
			if err != nil {
				fail(err)
			}
			for _, t := range tasks {
				v.RetryingTasks = append(v.RetryingTasks, toTaskView(t))
			}
		}
		if info.Archived > 0 {
			tasks, err := m.insp.ListArchivedTasks(q, asynq.PageSize(attentionPage))
			if err != nil {
				fail(err)
			}
			for _, t := range tasks {
				v.ArchivedTasks = append(v.ArchivedTasks, toTaskView(t))
			}
		}
		o.Queues = append(o.Queues, v)
	}
	entries, err := m.insp.SchedulerEntries()
	if err != nil {
		fail(err)
	}
	for _, e := range entries {
		o.Schedule = append(o.Schedule, scheduleView{Spec: e.Spec, Type: e.Task.Type(), Next: e.Next, Prev: e.Prev, Entry: e.ID})
	}
	if o.Servers, err = m.insp.Servers(); err != nil {
		fail(err)
	}
	return o
}

func (m *monitor) routes(mux *http.ServeMux) {
	mux.HandleFunc("GET /monitor/{$}", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Content-Security-Policy", "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'")
		if err := monitorPage.Execute(w, m.overview()); err != nil {
			m.log.WarnContext(r.Context(), "monitor page", "err", err)
		}
	})
	mux.HandleFunc("GET /monitor/api/overview", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(m.overview())
	})
	if m.readOnly {
		return
	}
	// State changes are forms posted from the page; cross-origin posts are
	// refused, so another site open in the operator's browser cannot
	// trigger them.
	protect := http.NewCrossOriginProtection()
	action := func(do func(queue, id string) error) http.Handler {
		return protect.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			queue, id := r.PathValue("queue"), r.PathValue("id")
			err := do(queue, id)
			switch {
			case errors.Is(err, asynq.ErrTaskNotFound) || errors.Is(err, asynq.ErrQueueNotFound):
				http.Error(w, "no such task", http.StatusNotFound)
				return
			case err != nil:
				m.log.ErrorContext(r.Context(), "monitor action failed", "queue", queue, "task_id", id, "err", err)
				http.Error(w, "failed", http.StatusInternalServerError)
				return
			}
			m.log.InfoContext(r.Context(), "monitor action", "path", r.URL.Path)
			http.Redirect(w, r, "/monitor/", http.StatusSeeOther)
		}))
	}
	mux.Handle("POST /monitor/queues/{queue}/tasks/{id}/run", action(m.insp.RunTask))
	mux.Handle("POST /monitor/queues/{queue}/tasks/{id}/delete", action(m.insp.DeleteTask))
}

var monitorPage = template.Must(template.New("monitor").Parse(`<!doctype html>
<html><head><meta charset="utf-8"><title>Worker: queues</title>
<style>body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:.25em .6em;text-align:left;font-size:.92em;vertical-align:top}
th{background:#f4f4f4}.err{color:#b00}code{font-size:.85em;word-break:break-all}form{display:inline}</style></head>
<body><h1>Worker queues</h1><p>{{.Generated.Format "2006-01-02 15:04:05 MST"}}{{if .ReadOnly}} · read-only{{end}} · <a href="/monitor/api/overview">JSON</a></p>
{{range .Errors}}<p class="err">{{.}}</p>{{end}}
<table><tr><th>queue</th><th>pending</th><th>active</th><th>scheduled</th><th>retry</th><th>archived</th><th>completed</th><th>processed today</th><th>failed today</th><th>latency</th><th>paused</th></tr>
{{range .Queues}}<tr><td>{{.Queue}}</td><td>{{.Pending}}</td><td>{{.Active}}</td><td>{{.Scheduled}}</td><td>{{.Retry}}</td><td>{{.Archived}}</td><td>{{.Completed}}</td><td>{{.Processed}}</td><td>{{.Failed}}</td><td>{{.Latency}}</td><td>{{.Paused}}</td></tr>
{{else}}<tr><td colspan="11">no queues yet</td></tr>{{end}}</table>
{{$ro := .ReadOnly}}
{{range .Queues}}{{$q := .Queue}}
{{if .ArchivedTasks}}<h2>Archived in {{$q}} (gave up; run again once the cause is fixed)</h2>
<table><tr><th>task</th><th>type</th><th>payload</th><th>retried</th><th>last error</th><th>failed at</th><th></th></tr>
{{range .ArchivedTasks}}<tr><td><code>{{.ID}}</code></td><td>{{.Type}}</td><td><code>{{.Payload}}</code></td><td>{{.Retried}}/{{.MaxRetry}}</td><td class="err">{{.LastErr}}</td><td>{{.LastFailedAt.Format "2006-01-02 15:04:05"}}</td>
<td>{{if not $ro}}<form method="post" action="/monitor/queues/{{$q}}/tasks/{{.ID}}/run"><button>run</button></form>
<form method="post" action="/monitor/queues/{{$q}}/tasks/{{.ID}}/delete"><button>delete</button></form>{{end}}</td></tr>{{end}}</table>{{end}}
{{if .RetryingTasks}}<h2>Retrying in {{$q}}</h2>
<table><tr><th>task</th><th>type</th><th>payload</th><th>retried</th><th>last error</th><th>next attempt</th></tr>
{{range .RetryingTasks}}<tr><td><code>{{.ID}}</code></td><td>{{.Type}}</td><td><code>{{.Payload}}</code></td><td>{{.Retried}}/{{.MaxRetry}}</td><td class="err">{{.LastErr}}</td><td>{{.NextProcessAt.Format "2006-01-02 15:04:05"}}</td></tr>{{end}}</table>{{end}}
{{end}}
<h2>Schedule</h2><table><tr><th>spec (UTC)</th><th>task</th><th>next</th><th>previous</th></tr>
{{range .Schedule}}<tr><td><code>{{.Spec}}</code></td><td>{{.Type}}</td><td>{{.Next.Format "2006-01-02 15:04"}}</td><td>{{if not .Prev.IsZero}}{{.Prev.Format "2006-01-02 15:04"}}{{end}}</td></tr>{{else}}<tr><td colspan="4">no scheduler running</td></tr>{{end}}</table>
<h2>Workers</h2><table><tr><th>host</th><th>pid</th><th>concurrency</th><th>queues</th><th>started</th><th>in flight</th></tr>
{{range .Servers}}<tr><td>{{.Host}}</td><td>{{.PID}}</td><td>{{.Concurrency}}</td><td>{{range $k, $v := .Queues}}{{$k}}:{{$v}} {{end}}</td><td>{{.Started.Format "2006-01-02 15:04:05"}}</td><td>{{len .ActiveWorkers}}</td></tr>{{end}}</table>
</body></html>`))
