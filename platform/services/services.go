// Package services is the registry of the platform's services: each one's
// name, port, database and Redis databases, written once. Subgraphs take their
// defaults from it, and `make generate` writes the graph config, the Procfile,
// the compose file, the database scripts and the README's port table from it
// (./gen); tests fail when anything else disagrees with it.
package services

import (
	"fmt"
	"strconv"
	"strings"

	"supergraph/platform/config"
)

// Subgraphs is the registry of subgraphs, in the order the graph lists them.
// Adding a subgraph is one line here, beside its SDL (graph/<name>.graphqls),
// its SQL (sql/<name>/) and its package (subgraphs/<name>/, with
// cmd/<name>/).
var Subgraphs = []Service{
	{Name: "users", Port: 8000, Database: "user_service_db", RedisDB: 1, Health: "user-service"},
	// Its Redis is the queue's: it uses it only for pub/sub, which ignores
	// database numbers, and the health check.
	{Name: "notifications", Port: 8001, Database: "notification_service_db", RedisDB: QueueRedisDB, Health: "notification-service", Subscriptions: true},
	{Name: "freelance", Port: 8002, Database: "freelance_service_db", RedisDB: 4, Health: "freelance-service"},
	{Name: "content", Port: 8003, Database: "content_service_db", RedisDB: 2, Health: "content-service", Subscriptions: true},
	{Name: "marketplace", Port: 8004, Database: "marketplace_service_db", RedisDB: 5, Health: "marketplace-service"},
}

// The platform's other processes.
var (
	// Router is the public endpoint; its Redis holds rate limits and
	// persisted queries (the deny-list it reads is the users service's).
	Router = Service{Name: "router", Port: 8080, RedisDB: 0}
	// Worker delivers notifications: it works on the notifications database
	// and the queue.
	Worker = Service{Name: "worker", Port: 8090, Database: MustSubgraph("notifications").Database, RedisDB: QueueRedisDB}
)

// QueueRedisDB is the Redis database of the task queue (asynq), shared by
// every service that enqueues or consumes tasks, and of live pub/sub.
const QueueRedisDB = 3

// LocalHost is where the defaults find PostgreSQL, Redis and each other.
const LocalHost = "127.0.0.1"

// Service is one process of the platform.
type Service struct {
	// Name names it everywhere: its binary, Procfile entry and compose
	// service; for a subgraph also its name in the graph, its SDL
	// (graph/<Name>.graphqls), its migrations (sql/<Name>/) and its package
	// (subgraphs/<Name>/). Lower-case letters and digits.
	Name string
	// Port is where it listens by default.
	Port int
	// Database is its PostgreSQL database ("" for none).
	Database string
	// RedisDB is its own Redis database: its cache, or what it shares.
	RedisDB int
	// Health is the service name its /api/health/ reports.
	Health string
	// Subscriptions is true when its schema has a Subscription type: the
	// router then reaches it over WebSockets too.
	Subscriptions bool
}

// EnvPrefix prefixes every environment variable of the service: "USERS_".
func (s Service) EnvPrefix() string { return strings.ToUpper(s.Name) + "_" }

// Addr is host:port of the service on host.
func (s Service) Addr(host string) string { return host + ":" + strconv.Itoa(s.Port) }

// DatabaseURL is the service's database on the PostgreSQL server at host
// (the development superuser, no TLS).
func (s Service) DatabaseURL(host string) string { return DatabaseURL(host, s.Database) }

// RedisURL is the service's own database on the Redis server at host.
func (s Service) RedisURL(host string) string { return RedisURL(host, s.RedisDB) }

// DatabaseURL is database on the development PostgreSQL server at host.
func DatabaseURL(host, database string) string { return DatabaseURLWithPassword(host, "", database) }

// DatabaseURLWithPassword is DatabaseURL for the superuser with password, written
// into the URL as is (the compose file passes "${POSTGRES_PASSWORD}", which
// compose interpolates); "" is none.
func DatabaseURLWithPassword(host, password, database string) string {
	user := "postgres"
	if password != "" {
		user += ":" + password
	}
	return fmt.Sprintf("postgres://%s@%s:5432/%s?sslmode=disable", user, host, database)
}

// RedisURL is database db of the Redis server at host.
func RedisURL(host string, db int) string { return fmt.Sprintf("redis://%s:6379/%d", host, db) }

// LocalDefaults sets what differs per subgraph in c to what runs on this
// machine: a loopback listen address on its port, its database and Redis
// database, and the queue.
func (s Service) LocalDefaults(c *config.Subgraph) {
	c.HTTPAddr = s.Addr(LocalHost)
	c.DatabaseURL = s.DatabaseURL(LocalHost)
	c.RedisURL = s.RedisURL(LocalHost)
	c.QueueRedisURL = RedisURL(LocalHost, QueueRedisDB)
}

// MustSubgraph returns the registry's subgraph called name and panics when
// there is none: callers pass constants, so any test run catches a typo.
func MustSubgraph(name string) Service {
	for _, s := range Subgraphs {
		if s.Name == name {
			return s
		}
	}
	panic(fmt.Sprintf("services: no subgraph %q in the registry (platform/services)", name))
}

// Names lists the subgraphs' names in registry order.
func Names() []string {
	names := make([]string, len(Subgraphs))
	for i, s := range Subgraphs {
		names[i] = s.Name
	}
	return names
}
