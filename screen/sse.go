package screen

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"sync/atomic"
	"time"
)

// heartbeat is how often every stream carries an "hb" event. The page
// shows every lane as stopped when it has heard nothing for 2 s, so a
// dead daemon, a power cut or a lost Wi-Fi never leaves a green tile up;
// the heartbeat also finds dead clients and carries the school's clock.
const heartbeat = 750 * time.Millisecond

// writeTimeout bounds one write to a browser; a client that cannot take a
// message in this time is dropped.
const writeTimeout = 10 * time.Second

// client is one SSE connection with its own bounded buffer.
type client struct {
	// host is the client's IP address: each has at most
	// Opts.MaxClientsPerHost streams.
	host string
	ch   chan []byte
	// resync is set when a message was dropped; the writer then discards
	// its queue and sends a fresh snapshot.
	resync atomic.Bool
}

// broadcast queues an event for every client without ever waiting; view is
// only built when someone is watching. Call with s.mu held.
func (s *Screen) broadcast(name string, view func() any) {
	if len(s.clients) == 0 {
		return
	}
	msg, err := sseMessage(name, view())
	if err != nil {
		s.log.Error().Err(err).Str("event", name).Msg("encode SSE message")
		return
	}
	for c := range s.clients {
		select {
		case c.ch <- msg:
		default:
			s.dropped.Add(1)
			c.resync.Store(true)
		}
	}
}

func sseMessage(name string, v any) ([]byte, error) {
	data, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	msg := make([]byte, 0, len(name)+len(data)+16)
	msg = append(msg, "event: "...)
	msg = append(msg, name...)
	msg = append(msg, "\ndata: "...)
	msg = append(msg, data...)
	return append(msg, "\n\n"...), nil
}

// Why subscribe refused a client.
var (
	errTooManyScreens = errors.New("too many screens connected")
	errTooManyFromYou = errors.New("too many screens connected from this address")
)

// subscribe registers a client whose first message is the full state, so no
// change between the snapshot and the registration can be missed. host is
// the client's address.
func (s *Screen) subscribe(host string) (*client, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.clients) >= s.o.MaxClients {
		return nil, errTooManyScreens
	}
	if s.perHost[host] >= s.o.MaxClientsPerHost {
		return nil, errTooManyFromYou
	}
	s.perHost[host]++
	c := &client{host: host, ch: make(chan []byte, s.o.ClientBuffer)}
	if msg, err := sseMessage("state", s.stateView()); err == nil {
		c.ch <- msg
	}
	s.clients[c] = struct{}{}
	return c, nil
}

func (s *Screen) unsubscribe(c *client) {
	s.mu.Lock()
	delete(s.clients, c)
	if s.perHost[c.host]--; s.perHost[c.host] <= 0 {
		delete(s.perHost, c.host)
	}
	s.mu.Unlock()
}

// heartbeatMessage carries the server's clock and the school's UTC offset,
// so the page's clock shows school time whatever the tablet's zone.
func (s *Screen) heartbeatMessage() []byte {
	msg, _ := sseMessage("hb", s.clockView()) // two integers always encode
	return msg
}

func (s *Screen) snapshotMessage() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	msg, err := sseMessage("state", s.stateView())
	if err != nil {
		s.log.Error().Err(err).Msg("encode SSE snapshot")
	}
	return msg
}

func (s *Screen) serveEvents(w http.ResponseWriter, r *http.Request) {
	c, err := s.subscribe(clientHost(r))
	if err != nil {
		// Debug: a flood of refused connections must not flood the journal.
		s.log.Debug().Err(err).Str("remote", r.RemoteAddr).Msg("SSE client refused")
		w.Header().Set("Retry-After", "5")
		code := http.StatusServiceUnavailable
		if errors.Is(err, errTooManyFromYou) {
			code = http.StatusTooManyRequests
		}
		http.Error(w, err.Error(), code)
		return
	}
	defer s.unsubscribe(c)
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	s.stream(r.Context(), w, c)
	s.log.Debug().Str("remote", r.RemoteAddr).Msg("SSE client gone")
}

// stream writes c's messages to w until ctx or the screen is done or a
// write fails.
func (s *Screen) stream(ctx context.Context, w http.ResponseWriter, c *client) {
	rc := http.NewResponseController(w)
	// The stream outlives the server's read timeout by design.
	_ = rc.SetReadDeadline(time.Time{})
	write := func(b []byte) bool {
		_ = rc.SetWriteDeadline(time.Now().Add(writeTimeout)) // unsupported only in tests
		if _, err := w.Write(b); err != nil {
			return false
		}
		return rc.Flush() == nil
	}
	// The browser's EventSource reconnects by itself after this delay.
	if !write([]byte("retry: 2000\n\n")) {
		return
	}
	ping := time.NewTicker(heartbeat)
	defer ping.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ping.C:
			if !write(s.heartbeatMessage()) {
				return
			}
		case msg := <-c.ch:
			if c.resync.Swap(false) {
				drain(c.ch)
				msg = s.snapshotMessage()
			}
			if !write(msg) {
				return
			}
		}
	}
}

func drain(ch chan []byte) {
	for {
		select {
		case <-ch:
		default:
			return
		}
	}
}

// clientHost is the request's IP address, the unit of the per-client
// limits. The screen is reached directly on the LAN; a proxy's headers are
// not trusted.
func clientHost(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
