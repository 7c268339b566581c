package demo

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"time"

	mqtt "github.com/eclipse/paho.mqtt.golang"

	"github.com/gatescreen/gatescreen/internal/district/simbox"
	"github.com/gatescreen/gatescreen/internal/district/store"
)

// box is a simulated gatescreen box (its payloads are simbox's) with its
// MQTT connection; it publishes one message at a time and waits for each.
type box struct {
	*simbox.Box
	client mqtt.Client
	conn   net.Conn // to drop the connection as a crash would
}

// connect connects with the last will (offline, connection_lost, retained)
// and publishes the retained online status.
func (b *box) connect(broker string, now time.Time) error {
	opts := mqtt.NewClientOptions().AddBroker(broker).SetClientID("box-"+b.ID).SetCleanSession(false).
		SetAutoReconnect(false).SetWill(b.Topic("status"), string(b.Status("offline", "connection_lost", now)), 1, true).
		SetCustomOpenConnectionFn(func(uri *url.URL, _ mqtt.ClientOptions) (net.Conn, error) {
			c, err := net.DialTimeout("tcp", uri.Host, 10*time.Second)
			b.conn = c
			return c, err
		})
	b.client = mqtt.NewClient(opts)
	if tok := b.client.Connect(); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("demo box %s: connecting: %v", b.ID, tok.Error())
	}
	return b.publish("status", true, b.Status("online", "", now))
}

func (b *box) publish(topic string, retained bool, payload []byte) error {
	tok := b.client.Publish(b.Topic(topic), 1, retained, payload)
	if !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		return fmt.Errorf("demo box %s: publishing %s: %v", b.ID, topic, tok.Error())
	}
	return nil
}

// single publishes a one-event message (health).
func (b *box) single(topic string, e map[string]any) error {
	return b.publish(topic, false, b.Single(e))
}

// readings publishes events as readings messages, as a box drains its store.
func (b *box) readings(evs []map[string]any) error {
	for _, p := range b.Readings(evs) {
		if err := b.publish("readings", false, p); err != nil {
			return err
		}
	}
	return nil
}

// daily publishes the day's report (retained, as the box does).
func (b *box) daily(day string, at time.Time, c store.Counts, cases map[string]int) error {
	return b.publish("daily", true, b.Daily(day, at, c, cases))
}

// caseStep publishes one transition of a re-check case.
func (b *box) caseStep(ctx context.Context, day, ticket, from, to, disposition string, flagC, recheckC float64, opened, at time.Time) error {
	if ctx.Err() != nil {
		return ctx.Err()
	}
	return b.publish("cases", false, b.Case(day, ticket, from, to, disposition, flagC, recheckC, opened, at))
}

// drop closes the box's connection without a DISCONNECT, as a crash or a
// cut cable would: the broker then publishes its last will.
func (b *box) drop() {
	if b.conn != nil {
		b.conn.Close()
	}
}
