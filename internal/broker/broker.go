package broker

import (
	"fmt"
	"io"
	"log/slog"
	"net"

	mqtt "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/hooks/auth"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"
)

// Broker is a running embedded broker.
type Broker struct {
	server *mqtt.Server
	addr   string
}

// Start listens on addr (host:port; port 0 picks a free one) and serves
// until Close. Only loopback addresses are accepted.
func Start(addr string) (*Broker, error) {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, fmt.Errorf("broker: listen address %q: %w", addr, err)
	}
	if ip := net.ParseIP(host); ip == nil || !ip.IsLoopback() {
		return nil, fmt.Errorf("broker: listen address %q: the demo broker has no authentication, so it binds loopback only", addr)
	}
	s := mqtt.New(&mqtt.Options{
		InlineClient: true,
		Logger:       slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err := s.AddHook(new(auth.AllowHook), nil); err != nil {
		return nil, fmt.Errorf("broker: auth hook: %w", err)
	}
	tcp := listeners.NewTCP(listeners.Config{ID: "demo", Address: addr})
	if err := s.AddListener(tcp); err != nil {
		return nil, fmt.Errorf("broker: listen on %s: %w", addr, err)
	}
	go s.Serve() // Serve returns at once; listeners run on their own goroutines
	return &Broker{server: s, addr: tcp.Address()}, nil
}

// Addr is the host:port the broker listens on.
func (b *Broker) Addr() string { return b.addr }

// URL is the broker address as an MQTT URL for the uplink.
func (b *Broker) URL() string { return "tcp://" + b.addr }

// Subscribe calls fn for every message on filter, from inside the broker.
func (b *Broker) Subscribe(filter string, id int, fn func(topic string, payload []byte)) error {
	return b.server.Subscribe(filter, id, func(_ *mqtt.Client, _ packets.Subscription, pk packets.Packet) {
		fn(pk.TopicName, pk.Payload)
	})
}

// Close stops the broker and disconnects its clients.
func (b *Broker) Close() error { return b.server.Close() }
