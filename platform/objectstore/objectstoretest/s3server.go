package objectstoretest

import (
	"bytes"
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/minio/minio-go/v7"
	"github.com/minio/minio-go/v7/pkg/credentials"

	"supergraph/platform/objectstore"
)

// S3Server is a SeaweedFS server ("weed server -s3": master, volume server,
// filer and S3 gateway in one process) on loopback ports, with its data in a
// temporary directory, owned by one test.
type S3Server struct {
	// Endpoint is the S3 API's host:port.
	Endpoint  string
	AccessKey string
	SecretKey string
}

// startAttempts bounds retries when the server exits while starting because
// another process took one of the free ports we picked meanwhile.
const startAttempts = 3

// readyTimeout bounds how long a started server may take to store an object.
const readyTimeout = 90 * time.Second

// StartS3Server builds bin/weed when missing or older than tools/weed's
// go.mod (`make bin/weed`: about 9 minutes on 2 cores the first time, then
// nothing; `make test` builds it before any test, while a plain `go test` on
// a fresh machine builds it inside the test's timeout, so give it -timeout
// 20m), starts it and waits until its S3 API stores an object. The server stops when the
// test ends. Anything that keeps it from starting fails the test, with the
// reason and the end of the server's log.
func StartS3Server(t testing.TB) *S3Server {
	t.Helper()
	weed := buildWeed(t)
	var errs []error
	for range startAttempts {
		s, err := startWeed(t, weed)
		if err == nil {
			return s
		}
		errs = append(errs, err)
		if !errors.Is(err, errPortTaken) {
			break
		}
	}
	t.Fatalf("objectstoretest: SeaweedFS did not start:\n%v", errors.Join(errs...))
	return nil
}

// Config is an S3Config for bucket on this server.
func (s *S3Server) Config(bucket string) objectstore.S3Config {
	return objectstore.S3Config{
		Endpoint: s.Endpoint, Bucket: bucket, AccessKey: s.AccessKey, SecretKey: s.SecretKey,
		Region: "us-east-1", PathStyle: true,
	}
}

// NewStore returns a store on a new bucket of its own.
func (s *S3Server) NewStore(t *testing.T) objectstore.Store {
	t.Helper()
	cfg := s.Config(NewBucketName())
	cfg.CreateBucket = true
	st, err := objectstore.NewS3(t.Context(), cfg)
	if err != nil {
		t.Fatalf("objectstoretest: new bucket: %v", err)
	}
	return st
}

// Client is a minio-go client of this server, for looking past the Store
// interface (incomplete uploads, say).
func (s *S3Server) Client(t testing.TB) *minio.Client {
	t.Helper()
	c, err := minio.New(s.Endpoint, &minio.Options{
		Creds:        credentials.NewStaticV4(s.AccessKey, s.SecretKey, ""),
		Region:       "us-east-1",
		BucketLookup: minio.BucketLookupPath,
	})
	if err != nil {
		t.Fatalf("objectstoretest: client: %v", err)
	}
	return c
}

// NewBucketName returns a fresh valid bucket name.
func NewBucketName() string { return "t-" + strings.ToLower(rand.Text()) }

// repoRoot is the directory holding go.work, above the test's directory.
func repoRoot(t testing.TB) string {
	t.Helper()
	dir, err := os.Getwd()
	if err != nil {
		t.Fatalf("objectstoretest: %v", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "tools", "weed", "go.mod")); err == nil {
			return dir
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			t.Fatalf("objectstoretest: no tools/weed/go.mod above the test's directory: cannot build SeaweedFS")
		}
		dir = parent
	}
}

func buildWeed(t testing.TB) string {
	t.Helper()
	root := repoRoot(t)
	if err := os.MkdirAll(filepath.Join(root, "bin"), 0o755); err != nil {
		t.Fatalf("objectstoretest: %v", err)
	}
	// Test binaries of several packages may get here at once: one builds,
	// the others wait for it and find the binary up to date.
	lock, err := os.OpenFile(filepath.Join(root, "bin", ".weed.lock"), os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		t.Fatalf("objectstoretest: %v", err)
	}
	defer func() { _ = lock.Close() }() // releases the lock; nothing was written to it
	if err := syscall.Flock(int(lock.Fd()), syscall.LOCK_EX); err != nil {
		t.Fatalf("objectstoretest: lock: %v", err)
	}
	start := time.Now()
	// The Makefile's rule is the one place that says how weed is built and
	// when it is stale.
	cmd := exec.Command("make", "--no-print-directory", "bin/weed")
	cmd.Dir = root
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("objectstoretest: building SeaweedFS (make bin/weed) failed: %v\n%s", err, out)
	}
	if took := time.Since(start); took > 5*time.Second {
		t.Logf("objectstoretest: built bin/weed in %s", took.Round(time.Second))
	}
	return filepath.Join(root, "bin", "weed")
}

var (
	errExited    = errors.New("the server exited while starting")
	errPortTaken = errors.New("a port was taken")
)

// The eight ports weed server listens on, each service's HTTP and gRPC.
var weedPortFlags = []string{
	"master.port", "master.port.grpc", "volume.port", "volume.port.grpc",
	"filer.port", "filer.port.grpc", "s3.port", "s3.port.grpc",
}

func startWeed(t testing.TB, weed string) (*S3Server, error) {
	// Unix socket paths are limited to ~100 bytes: t.TempDir() can be longer.
	dir, err := os.MkdirTemp("", "weed")
	if err != nil {
		return nil, err
	}
	ports, err := freePorts(len(weedPortFlags))
	if err != nil {
		_ = os.RemoveAll(dir) // nothing of ours in it yet
		return nil, err
	}
	s := &S3Server{
		Endpoint:  net.JoinHostPort("127.0.0.1", strconv.Itoa(ports[6])),
		AccessKey: "test" + strings.ToLower(rand.Text()[:12]),
		SecretKey: rand.Text(),
	}
	args := []string{
		"-logtostderr", // not also into files under /tmp
		"server",
		"-dir=" + filepath.Join(dir, "data"),
		"-ip=127.0.0.1", "-ip.bind=127.0.0.1",
		"-filer", "-s3",
		"-s3.port.iceberg=0", "-s3.port.lance=0",
		"-master.telemetry=false",
		// Small volumes, as many as the disk holds (none preallocated):
		// each bucket is a collection with volumes of its own.
		"-master.volumeSizeLimitMB=64", "-volume.max=0",
		"-volume.preStopSeconds=0",
		"-filer.localSocket=" + filepath.Join(dir, "filer.sock"),
		"-s3.localSocket=" + filepath.Join(dir, "s3.sock"),
	}
	for i, f := range weedPortFlags {
		args = append(args, fmt.Sprintf("-%s=%d", f, ports[i]))
	}
	if err := os.MkdirAll(filepath.Join(dir, "data"), 0o755); err != nil {
		_ = os.RemoveAll(dir) // as above
		return nil, err
	}
	logPath := filepath.Join(dir, "weed.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		_ = os.RemoveAll(dir) // as above
		return nil, err
	}
	cmd := exec.Command(weed, args...)
	// The identity the S3 API accepts (an admin); the working directory and
	// HOME keep weed from reading any configuration of the machine's.
	cmd.Env = append(withoutAWSVars(os.Environ()),
		"AWS_ACCESS_KEY_ID="+s.AccessKey, "AWS_SECRET_ACCESS_KEY="+s.SecretKey, "HOME="+dir)
	cmd.Dir = dir
	cmd.Stdout, cmd.Stderr = logFile, logFile
	if err := cmd.Start(); err != nil {
		_ = logFile.Close()
		_ = os.RemoveAll(dir) // as above
		return nil, fmt.Errorf("start %s: %w", weed, err)
	}
	started := time.Now()
	var waitErr error // set before exited is closed
	exited := make(chan struct{})
	go func() { waitErr = cmd.Wait(); close(exited) }()

	stop := func() {
		// Killed, not stopped: its data is thrown away, and a graceful stop
		// takes weed 15 s (its filer keeps asking the stopped volume server).
		_ = cmd.Process.Kill() // it may be gone already; Wait tells
		<-exited
		_ = logFile.Close()
		// weed puts its in-process gRPC sockets in /tmp whatever we say,
		// named after the ports we gave it.
		for i, name := range []string{"master", "volume", "filer", "s3"} {
			_ = os.Remove(fmt.Sprintf("/tmp/seaweedfs-%s-grpc-%d.sock", name, ports[2*i+1])) // ours, if left
		}
		_ = os.RemoveAll(dir) // the test's data, nothing else
	}

	if err := waitReady(t, s, exited, &waitErr); err != nil {
		log := tail(logPath, 40)
		stop()
		if errors.Is(err, errExited) && strings.Contains(log, "address already in use") {
			err = fmt.Errorf("%w: %w", errPortTaken, err)
		}
		return nil, fmt.Errorf("%w\nweed %s\n--- end of its log:\n%s", err, strings.Join(args, " "), log)
	}
	t.Logf("objectstoretest: SeaweedFS S3 API on %s ready in %s", s.Endpoint, time.Since(started).Round(time.Millisecond))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("objectstoretest: end of the SeaweedFS log:\n%s", tail(logPath, 40))
		}
		stop()
	})
	return s, nil
}

// waitReady waits until a bucket can be made and an object stored: the S3
// gateway answers before the volume server has joined the master.
func waitReady(t testing.TB, s *S3Server, exited <-chan struct{}, waitErr *error) error {
	client := s.Client(t)
	ctx, cancel := context.WithTimeout(context.Background(), readyTimeout)
	defer cancel()
	// An attempt in flight (minio-go retries refused connections itself)
	// ends as soon as the server does.
	go func() {
		select {
		case <-exited:
			cancel()
		case <-ctx.Done():
		}
	}()
	const bucket = "ready"
	var last error
	for {
		last = func() error {
			// A fresh master holds volume allocation for a few seconds
			// (its warm-up): the first PUT waits that long.
			c, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			if err := client.MakeBucket(c, bucket, minio.MakeBucketOptions{}); err != nil && minio.ToErrorResponse(err).Code != "BucketAlreadyOwnedByYou" {
				return fmt.Errorf("make bucket: %w", err)
			}
			_, err := client.PutObject(c, bucket, "probe", strings.NewReader("ok"), 2, minio.PutObjectOptions{})
			if err != nil {
				return fmt.Errorf("put: %w", err)
			}
			return nil
		}()
		if last == nil {
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("%w (%v)", errExited, *waitErr)
		default:
		}
		select {
		case <-exited:
			return fmt.Errorf("%w (%v)", errExited, *waitErr)
		case <-ctx.Done():
			return fmt.Errorf("S3 API on %s not ready after %s: %w", s.Endpoint, readyTimeout, last)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

func freePorts(n int) ([]int, error) {
	var ports []int
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return nil, err
		}
		// Held open until all are picked, so none is picked twice.
		defer func() { _ = l.Close() }() // a listener that accepted nothing
		ports = append(ports, l.Addr().(*net.TCPAddr).Port)
	}
	return ports, nil
}

func withoutAWSVars(env []string) []string {
	var out []string
	for _, kv := range env {
		if !strings.HasPrefix(kv, "AWS_") && !strings.HasPrefix(kv, "S3_") && !strings.HasPrefix(kv, "WEED_") {
			out = append(out, kv)
		}
	}
	return out
}

func tail(path string, lines int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return fmt.Sprintf("(no log: %v)", err)
	}
	all := bytes.Split(bytes.TrimRight(b, "\n"), []byte("\n"))
	if len(all) > lines {
		all = all[len(all)-lines:]
	}
	return string(bytes.Join(all, []byte("\n")))
}
