package broker

import (
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
)

func TestPublishReachesSubscriber(t *testing.T) {
	b, err := Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()

	got := make(chan string, 1)
	if err := b.Subscribe("gatescreen/v1/#", 1, func(topic string, payload []byte) {
		got <- topic + " " + string(payload)
	}); err != nil {
		t.Fatal(err)
	}
	c := paho.NewClient(paho.NewClientOptions().AddBroker(b.URL()).SetClientID("t"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect to %s: %v", b.URL(), tok.Error())
	}
	defer c.Disconnect(100)
	if tok := c.Publish("gatescreen/v1/d/s/g/status", 1, true, `{"v":1}`); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("publish: %v", tok.Error())
	}
	select {
	case m := <-got:
		if m != `gatescreen/v1/d/s/g/status {"v":1}` {
			t.Fatalf("got %q", m)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("message not delivered")
	}
}

func TestRefusesNonLoopback(t *testing.T) {
	if _, err := Start("0.0.0.0:0"); err == nil {
		t.Fatal("started an unauthenticated broker on all interfaces")
	}
}
