package tasks

import (
	"fmt"
	"log/slog"
)

// Logger adapts slog to asynq's Logger interface, so asynq servers log
// through the same handler (format, level, service name) as everything else.
type Logger struct{ Log *slog.Logger }

func (l Logger) Debug(args ...any) { l.Log.Debug(fmt.Sprint(args...)) }
func (l Logger) Info(args ...any)  { l.Log.Info(fmt.Sprint(args...)) }
func (l Logger) Warn(args ...any)  { l.Log.Warn(fmt.Sprint(args...)) }
func (l Logger) Error(args ...any) { l.Log.Error(fmt.Sprint(args...)) }
func (l Logger) Fatal(args ...any) { l.Log.Error(fmt.Sprint(args...)) }
