# The supergraph platform. `make help` lists the targets.
SHELL := bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

# Every module of the workspace (go.work); `go test ./...` at the root matches nothing.
MODULES := $(shell go list -m -f '{{.Dir}}')
# Pinned developer tools live in tools/go.mod (golangci-lint in tools/lint/go.mod,
# SeaweedFS in tools/weed/go.mod),
# outside the workspace so their dependencies never change the services' build list.
TOOL := cd tools && GOWORK=off go tool

.PHONY: help
help: ## list the targets
	@grep -hE '^[a-z-]+:.*## ' $(MAKEFILE_LIST) | awk -F':.*## ' '{printf "  %-16s %s\n", $$1, $$2}'

.PHONY: run
run: ## run the whole platform locally (starts or reuses PostgreSQL and Redis)
	@scripts/run.sh

.PHONY: test
test: bin/weed ## run every module's tests against real PostgreSQL, Redis and SeaweedFS (S3)
	@scripts/services.sh ensure
	@for m in $(MODULES); do echo "== test $${m#$(CURDIR)/}"; (cd $$m && go test -count=1 -timeout 15m ./...); done
	@echo "== test tools"; cd tools && GOWORK=off go test -count=1 ./devrun ./deploycheck ./schemacheck

.PHONY: stop
stop: ## stop the PostgreSQL/Redis that make run started under .dev/data
	@scripts/services.sh stop

.PHONY: generate
generate: generate-services generate-sqlc generate-gqlgen generate-graph generate-playground ## regenerate all generated code (service registry files, sqlc, gqlgen, composed supergraph, playground)

.PHONY: generate-services
generate-services: ## rewrite what repeats the service registry (platform/services): graph.yaml, Procfile, scripts/services.env, compose, init SQL, README table
	go run ./platform/services/gen

.PHONY: generate-sqlc
generate-sqlc: ## regenerate the sqlc query packages from sql/
	$(TOOL) sqlc -f ../sqlc.yaml generate

.PHONY: generate-gqlgen
generate-gqlgen: ## regenerate every subgraph's gqlgen code from graph/*.graphqls
	cd subgraphs && go run ./internal/gqlgen && go mod tidy

.PHONY: generate-graph
generate-graph: ## recompose the supergraph offline with Cosmo's wgc (graph/, router/testdata/, e2e/testdata/)
	tools/compose/compose.sh

.PHONY: generate-playground
generate-playground: ## rebuild the router's embedded GraphiQL from pinned npm packages (tools/playground)
	tools/playground/build.sh

.PHONY: bench
bench: ## benchmark the router vs the subgraphs, the gig catalogue page, router latency and the content feed and threads: RPS, p50/p99, CPU per request, peak RSS (BENCH_DURATION; needs PostgreSQL and Redis)
	@scripts/services.sh ensure
	@# -v prints every figure line (without it go test keeps 10 lines a benchmark).
	cd e2e && go test -tags bench -run '^$$' -bench '^(BenchmarkRouter|BenchmarkGigCatalogue|BenchmarkRouterLatency|BenchmarkContent)$$' -benchtime=1x -count=1 -v -timeout 20m .

.PHONY: bench-fanout
bench-fanout: ## live-notification fan-out through the router (needs make run in another shell; ulimit -n 65536)
	go run ./worker/cmd/fanoutbench -url http://127.0.0.1:8080/graphql -n 10000 -users 1000 -rate 100 -duration 30s -pid router=$$(pgrep -xf bin/router),notifications=$$(pgrep -xf bin/notifications)

.PHONY: verify
verify: generate tidy lint check-services ## regenerate everything and fail on any difference; lint; check the service registry
	@# go.work.sum is a checksum cache that any go command may extend, not generated code.
	@# git status sees new files too, without touching the index.
	@changed=$$(git status --porcelain --untracked-files=all -- . ':!go.work.sum'); \
	  if [ -n "$$changed" ]; then echo "$$changed"; echo "generated code is stale: run 'make generate' and commit"; exit 1; fi

.PHONY: check-services
check-services: ## fail when anything disagrees with the service registry (platform/services): the tree, the generated files, defaults, binaries, compose, e2e
	@cd platform && go test -count=1 ./services/...
	@cd subgraphs && go test -count=1 -run '^(TestDefaultsComeFromTheRegistry|TestSubgraphsListenOnLoopbackByDefault|TestBinariesRefuseUnknownCommands)$$' .
	@cd e2e && go test -count=1 -run '^(TestRouterAndWorkerDefaultsAgreeWithTheRegistry|TestE2EStartsEveryRegisteredSubgraph)$$' .
	@cd tools && GOWORK=off go test -count=1 ./deploycheck

.PHONY: tidy
tidy: ## go mod tidy in every module (make verify fails when that changes anything)
	@for m in $(MODULES); do (cd $$m && go mod tidy); done

BASE ?= HEAD
.PHONY: schema-check
schema-check: ## list client-schema changes since BASE (a git revision, default HEAD) that break existing clients
	@old=$$(mktemp); trap 'rm -f $$old' EXIT; git show $(BASE):graph/supergraph.graphql > $$old && \
	  cd tools && GOWORK=off go run ./schemacheck $$old ../graph/supergraph.graphql

.PHONY: lint
lint: bin/golangci-lint ## gofmt check, then golangci-lint (.golangci.yaml: govet, staticcheck, errcheck, ineffassign, unused, nolintlint, depguard import rules) in every module, e2e again with -tags bench, and tools
	@out=$$(gofmt -l $(MODULES) tools/devrun tools/deploycheck tools/schemacheck); if [ -n "$$out" ]; then echo "gofmt needed:"; echo "$$out"; exit 1; fi
	@# Generated code (gqlgen, sqlc: "Code generated ... DO NOT EDIT.") is left out
	@# by .golangci.yaml; make verify checks it by regenerating it.
	@# Every module is linted before a failure fails the target.
	@fail=0; \
	  for m in $(MODULES); do echo "== lint $${m#$(CURDIR)/}"; (cd $$m && $(CURDIR)/bin/golangci-lint run ./...) || fail=1; done; \
	  echo "== lint e2e -tags bench"; (cd e2e && $(CURDIR)/bin/golangci-lint run --build-tags bench ./...) || fail=1; \
	  echo "== lint tools"; (cd tools && GOWORK=off $(CURDIR)/bin/golangci-lint run ./devrun ./deploycheck ./schemacheck) || fail=1; \
	  exit $$fail

# golangci-lint has its own module, so that its many dependencies stay out of
# tools/go.mod (and out of the services' build list).
bin/golangci-lint: tools/lint/go.mod
	cd tools/lint && GOWORK=off go build -o ../../bin/golangci-lint github.com/golangci/golangci-lint/v2/cmd/golangci-lint

# SeaweedFS, the S3 server the object store's tests start (platform/objectstore/objectstoretest,
# which runs this rule too), has its own module for the same reason. The first build takes
# minutes; built into a temporary name, an interrupted one leaves no broken binary.
bin/weed: tools/weed/go.mod tools/weed/go.sum
	cd tools/weed && GOWORK=off go build -ldflags='-s -w' -o ../../bin/weed.tmp github.com/seaweedfs/seaweedfs/weed
	mv bin/weed.tmp bin/weed
