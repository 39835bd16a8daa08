// Package natsembed starts the real nats-server in-process with JetStream, for
// tests and for the all-in-one development command. It is not a mock: it is
// the same server that runs in production.
package natsembed

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/nats-io/nats-server/v2/server"
)

// Options configures an embedded server.
type Options struct {
	// Host and Port to listen on; Port -1 picks a free port.
	Host string
	Port int
	// StoreDir holds JetStream data; it survives restarts of the server.
	StoreDir string
	// ServerName names the server (required to be unique in a cluster).
	ServerName string
	// Cluster, when set, joins the server to a cluster.
	Cluster *ClusterOptions
}

// ClusterOptions joins an embedded server to a NATS cluster.
type ClusterOptions struct {
	Name   string
	Host   string
	Port   int
	Routes []string // nats-route://host:port of the other nodes
}

// ErrNotReady is returned when the server did not become ready in time.
var ErrNotReady = errors.New("natsembed: server not ready")

// Start launches a server and waits until it accepts connections.
func Start(o Options) (*server.Server, error) {
	if o.Host == "" {
		o.Host = "127.0.0.1"
	}
	if o.Port == 0 {
		o.Port = -1
	}
	sopts := &server.Options{
		ServerName: o.ServerName,
		Host:       o.Host,
		Port:       o.Port,
		JetStream:  true,
		StoreDir:   o.StoreDir,
		NoSigs:     true,
		NoLog:      true,
	}
	if o.Cluster != nil {
		sopts.Cluster = server.ClusterOpts{Name: o.Cluster.Name, Host: o.Cluster.Host, Port: o.Cluster.Port}
		routes := make([]string, 0, len(o.Cluster.Routes))
		routes = append(routes, o.Cluster.Routes...)
		sopts.Routes = server.RoutesFromStr(strings.Join(routes, ","))
	}
	s, err := server.NewServer(sopts)
	if err != nil {
		return nil, fmt.Errorf("natsembed: new server: %w", err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		s.Shutdown()
		return nil, ErrNotReady
	}
	return s, nil
}
