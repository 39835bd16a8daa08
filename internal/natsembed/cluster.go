package natsembed

import (
	"fmt"
	"net"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Cluster is a NATS JetStream cluster of in-process servers on 127.0.0.1,
// for tests and benchmarks. Nodes can be stopped and restarted with their
// data, like real servers.
type Cluster struct {
	Name    string
	dir     string
	ports   []int // client ports
	routes  []int // cluster ports
	servers []*server.Server
}

// StartCluster starts n nodes with JetStream, data under dir.
func StartCluster(n int, dir string) (*Cluster, error) {
	if n < 1 {
		return nil, fmt.Errorf("natsembed: cluster of %d nodes", n)
	}
	c := &Cluster{Name: "patchbay-test", dir: dir, servers: make([]*server.Server, n)}
	for i := 0; i < 2*n; i++ {
		p, err := freePort()
		if err != nil {
			return nil, err
		}
		if i < n {
			c.ports = append(c.ports, p)
		} else {
			c.routes = append(c.routes, p)
		}
	}
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		go func() { errs <- c.startNode(i) }()
	}
	for i := 0; i < n; i++ {
		if err := <-errs; err != nil {
			c.Shutdown()
			return nil, err
		}
	}
	return c, nil
}

func (c *Cluster) startNode(i int) error {
	var routes []string
	for j, p := range c.routes {
		if j != i {
			routes = append(routes, "nats-route://127.0.0.1:"+strconv.Itoa(p))
		}
	}
	s, err := Start(Options{
		Port: c.ports[i], StoreDir: filepath.Join(c.dir, "n"+strconv.Itoa(i)), ServerName: "n" + strconv.Itoa(i),
		Cluster: &ClusterOptions{Name: c.Name, Host: "127.0.0.1", Port: c.routes[i], Routes: routes},
	})
	if err != nil {
		return fmt.Errorf("natsembed: node %d: %w", i, err)
	}
	c.servers[i] = s
	return nil
}

// URLs is the comma-separated client URL list of every node.
func (c *Cluster) URLs() string {
	urls := make([]string, len(c.ports))
	for i, p := range c.ports {
		urls[i] = "nats://127.0.0.1:" + strconv.Itoa(p)
	}
	return strings.Join(urls, ",")
}

// Server returns node i (nil while stopped).
func (c *Cluster) Server(i int) *server.Server { return c.servers[i] }

// Stop shuts node i down (its data stays).
func (c *Cluster) Stop(i int) {
	if s := c.servers[i]; s != nil {
		s.Shutdown()
		s.WaitForShutdown()
		c.servers[i] = nil
	}
}

// Restart starts node i again with its data.
func (c *Cluster) Restart(i int) error { return c.startNode(i) }

// WaitJetStream waits until every running node reports a JetStream meta
// leader, so that assets can be created.
func (c *Cluster) WaitJetStream(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		ready := true
		for _, s := range c.servers {
			if s != nil && !s.JetStreamIsCurrent() {
				ready = false
			}
		}
		if ready {
			for _, s := range c.servers {
				if s != nil && s.JetStreamIsLeader() {
					return nil
				}
			}
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("natsembed: cluster JetStream not ready within %s", timeout)
}

// Shutdown stops every node.
func (c *Cluster) Shutdown() {
	for i := range c.servers {
		c.Stop(i)
	}
}

func freePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("natsembed: free port: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
