package daemon

import (
	"context"
	"strconv"
	"time"

	"github.com/gatescreen/gatescreen/internal/metrics"
	"github.com/gatescreen/gatescreen/screen"
)

// pollStatus copies slow-changing state to the screen and /metrics.
func (g *gate) pollStatus(ctx context.Context) {
	t := time.NewTicker(time.Second)
	defer t.Stop()
	var unknownCards uint64
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		g.met.SetOpenCases(len(g.cases.Open()))
		if n := g.pipe.Stats().UnknownCards; n != unknownCards && g.scr != nil {
			unknownCards = n
			g.scr.SetBanner(screen.Banner{ID: "unknown_cards", Level: "info",
				Text: "banner_unknown_cards", Arg: strconv.FormatUint(n, 10)})
		}
		if g.up == nil {
			continue
		}
		st := g.up.Status()
		g.met.SetUplinkConnected(st.Connected)
		if g.scr != nil {
			state := "offline"
			if st.Connected {
				state = "connected"
			}
			g.scr.SetUplink(state)
		}
	}
}

// uplinkFigures is the uplink's counters for /metrics; zero without one.
func (g *gate) uplinkFigures() metrics.UplinkFigures {
	if g.up == nil {
		return metrics.UplinkFigures{}
	}
	st := g.up.Status()
	return metrics.UplinkFigures{Connected: st.Connected, Connects: st.Connects, Messages: st.SentMessages,
		Events: st.SentEvents, Acked: st.AckedEvents, Unconfirmed: st.Unconfirmed, LastAck: st.LastAckAt}
}
