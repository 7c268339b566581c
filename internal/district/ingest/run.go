package ingest

import (
	"context"
	"fmt"
	"math/rand/v2"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/store"
)

// Run connects, subscribes and ingests until ctx is cancelled (then it
// returns nil) or the broker refuses the subscription. What is not
// committed when it returns is not acknowledged: the broker sends it again
// on the next connection of the same client id.
func (in *Ingester) Run(ctx context.Context) error {
	c := mqtt.NewClient(in.clientOptions())
	in.log.Info().Str("broker", in.opts.Broker).Msg("connecting (retrying until the broker answers)")
	tok := c.Connect()
	select {
	case <-tok.Done():
		if err := tok.Error(); err != nil {
			return fmt.Errorf("ingest: connecting to %s: %w", in.opts.Broker, err)
		}
	case err := <-in.subErr: // the connection is refused for good
		c.Disconnect(0)
		return err
	case <-ctx.Done():
		c.Disconnect(0)
		return nil
	}
	defer func() {
		c.Disconnect(250)
		in.logStats("stopped")
	}()
	return in.loop(ctx)
}

func (in *Ingester) clientOptions() *mqtt.ClientOptions {
	o := mqtt.NewClientOptions().
		AddBroker(in.opts.Broker).
		SetClientID(in.opts.ClientID).
		SetCleanSession(false). // the broker keeps the subscription and the unacknowledged messages
		SetAutoAckDisabled(true).
		SetOrderMatters(true).
		SetAutoReconnect(true).
		SetConnectRetry(true).
		SetConnectRetryInterval(time.Second).
		SetMaxReconnectInterval(30 * time.Second).
		SetKeepAlive(30 * time.Second).
		// Messages of the persistent session can arrive before Subscribe
		// returns: they take the same way in.
		SetDefaultPublishHandler(in.handle).
		SetOnConnectHandler(in.onConnect).
		SetConnectionLostHandler(func(_ mqtt.Client, err error) {
			in.log.Warn().Err(err).Str("broker", in.opts.Broker).Msg("connection lost; reconnecting (what was not acknowledged comes again)")
		})
	if in.opts.Username != "" {
		o.SetUsername(in.opts.Username).SetPassword(in.opts.Password)
	}
	if in.tls != nil {
		o.SetTLSConfig(in.tls)
	}
	// Also without TLS files: ssl:// alone verifies with the system's roots.
	o.SetConnectionNotificationHandler(in.onConnectionNotification)
	return o
}

// onConnectionNotification stops Run on a TLS failure that retrying
// cannot mend (paho would retry it quietly for ever).
func (in *Ingester) onConnectionNotification(_ mqtt.Client, n mqtt.ConnectionNotification) {
	var reason error
	switch f := n.(type) {
	case mqtt.ConnectionNotificationBrokerFailed: // the TLS handshake
		reason = f.Reason
	case mqtt.ConnectionNotificationFailed: // the MQTT one: TLS 1.3 sends the broker's refusal after the handshake
		reason = f.Reason
	}
	if err := in.tlsRefusal(reason); err != nil {
		in.fail(err)
	}
}

// fail hands Run an error that ends it.
func (in *Ingester) fail(err error) {
	select {
	case in.subErr <- err:
	default:
	}
}

func (in *Ingester) handle(_ mqtt.Client, m mqtt.Message) {
	in.received.Add(1)
	in.in <- received{msg: m, at: time.Now()}
}

// onConnect subscribes on every connect: the first one creates the
// subscription, later ones find it in the session and change nothing.
func (in *Ingester) onConnect(c mqtt.Client) {
	filter := in.Filter()
	tok := c.Subscribe(filter, 1, in.handle)
	tok.Wait()
	err := tok.Error()
	if st, ok := tok.(*mqtt.SubscribeToken); ok && err == nil && st.Result()[filter] > 1 {
		err = fmt.Errorf("the broker refused the subscription (SUBACK 0x%02x): check its ACL for this client", st.Result()[filter])
	}
	if err != nil {
		in.fail(fmt.Errorf("ingest: subscribing to %s: %w", filter, err))
		return
	}
	in.log.Info().Str("filter", filter).Str("broker", in.opts.Broker).Str("client_id", in.opts.ClientID).Msg("subscribed")
	in.readyOnce.Do(func() { close(in.ready) })
}

// loop gathers batches, commits each and then acknowledges its messages.
func (in *Ingester) loop(ctx context.Context) error {
	stats := time.NewTicker(in.opts.StatsInterval)
	defer stats.Stop()
	for {
		var first received
		select {
		case <-ctx.Done():
			return nil
		case err := <-in.subErr:
			return err
		case <-stats.C:
			in.logStats("ingesting")
			continue
		case first = <-in.in:
		}
		b := in.gather(ctx, first)
		if err := in.commit(ctx, b); err != nil {
			return nil // cancelled: the batch stays unacknowledged
		}
		for _, r := range b.msgs {
			r.msg.Ack()
		}
		in.acked.Add(int64(len(b.msgs)))
	}
}

// pending is a batch and the messages it came from.
type pending struct {
	batch  store.Batch
	msgs   []received
	events int
}

func (in *Ingester) add(b *pending, r received) {
	b.msgs = append(b.msgs, r)
	m, q := in.dec.Decode(r.msg.Topic(), r.msg.Payload(), r.at)
	if q != nil {
		b.batch.Quarantine = append(b.batch.Quarantine, *q)
		b.events++
		return
	}
	b.batch.Messages = append(b.batch.Messages, *m)
	b.events += max(1, len(m.Events))
}

// gather closes a batch at BatchEvents or FlushInterval after its first
// message.
func (in *Ingester) gather(ctx context.Context, first received) *pending {
	b := &pending{}
	in.add(b, first)
	timer := time.NewTimer(in.opts.FlushInterval)
	defer timer.Stop()
	for b.events < in.opts.BatchEvents {
		select {
		case r := <-in.in:
			in.add(b, r)
		case <-timer.C:
			return b
		case <-ctx.Done():
			return b
		}
	}
	return b
}

// commit writes a batch until it is committed or ctx is cancelled. While
// the database is away nothing is acknowledged; the broker holds the rest.
func (in *Ingester) commit(ctx context.Context, b *pending) error {
	delay := in.opts.RetryMin
	var since time.Time // when the first write of this batch failed
	for failures := 0; ; failures++ {
		out, err := in.opts.Store.Write(ctx, &b.batch)
		if err == nil {
			if failures > 0 {
				in.log.Warn().Int("failures", failures).Dur("down_for", time.Since(since).Round(time.Millisecond)).
					Msg("database back: batch committed, acknowledging again")
			}
			in.count(b, out)
			return nil
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		in.writeErrors.Add(1)
		wait := delay/2 + rand.N(delay/2+1) // jittered, so that ingesters do not retry in step
		if failures == 0 {
			since = time.Now()
			in.log.Error().Err(err).Int("messages", len(b.msgs)).Dur("retry_in", wait).
				Msg("database unavailable: not acknowledging until a write succeeds (the broker holds the messages)")
		} else {
			in.wlog.Warn().Err(err).Int("failures", failures+1).Dur("down_for", time.Since(since).Round(time.Millisecond)).
				Dur("retry_in", wait).Msg("database still unavailable: not acknowledging, retrying")
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(wait):
		}
		delay = min(2*delay, in.opts.RetryMax)
	}
}

func (in *Ingester) count(b *pending, out store.Outcome) {
	in.inserted.Add(int64(out.Inserted))
	in.duplicates.Add(int64(out.Duplicates))
	in.conflicts.Add(int64(out.Conflicts))
	in.quarantined.Add(int64(out.Quarantined))
	in.mu.Lock()
	defer in.mu.Unlock()
	// Refused in the store: by box binding, or a daily report's day
	// outside the clock skew or the longest backlog of its arrival.
	bound := out.Quarantined - len(b.batch.Quarantine) - out.ClockQuarantined
	for reason, n := range map[string]int{store.ReasonBoxPrefix: bound, store.ReasonClock: out.ClockQuarantined} {
		if n > 0 {
			in.byReason[reason] += int64(n)
			in.qlog.Warn().Int("messages", n).Str("reason", reason).Msg("quarantined")
		}
	}
	for _, q := range b.batch.Quarantine {
		in.byReason[q.Reason]++
		in.qlog.Warn().Str("topic", q.Topic).Str("reason", q.Reason).Str("detail", q.Detail).Int("bytes", q.Size).Msg("quarantined")
	}
	if out.Conflicts > 0 {
		in.log.Error().Int("events", out.Conflicts).Msg("event ids arrived again with another body: see the alerts table")
	}
}

func (in *Ingester) logStats(msg string) {
	s := in.Stats()
	in.log.Info().Int64("received", s.Received).Int64("acked", s.Acked).Int64("inserted", s.Inserted).
		Int64("duplicates", s.Duplicates).Int64("conflicts", s.Conflicts).Int64("quarantined", s.Quarantined).
		Int64("write_errors", s.WriteErrors).Interface("quarantined_by", in.QuarantinedBy()).Msg(msg)
}
