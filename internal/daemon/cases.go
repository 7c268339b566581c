package daemon

import "github.com/gatescreen/gatescreen/event"

// caseChanged forwards a case transition to the screen and releases a
// lane's red lamp once none of its cases waits any more.
func (g *gate) caseChanged(c event.Case) {
	if g.scr != nil {
		g.scr.CaseChanged(c)
	}
	if c.State == event.CaseAwaitingRecheck {
		return
	}
	for _, open := range g.cases.Open() {
		if open.Lane == c.Lane && open.State == event.CaseAwaitingRecheck {
			return
		}
	}
	for i, l := range g.cfg.Lanes {
		if l.Name == c.Lane && g.lamps[i] != nil {
			g.lamps[i].ResolveFlag()
		}
	}
}
