package daemon

import (
	"github.com/gatescreen/gatescreen/event"
	"github.com/gatescreen/gatescreen/pipeline"
	"github.com/gatescreen/gatescreen/storage"
)

// openingDesk is the case desk as the screen sees it: made while the store
// is still opening, the screen starts with no open cases, and storageReady
// shows it the restored ones. The doctor's actions wait for the restore.
type openingDesk struct {
	*pipeline.Cases
	up <-chan struct{}
}

func (d openingDesk) Open() []event.Case {
	select {
	case <-d.up:
		return d.Cases.Open()
	default:
		return nil
	}
}

// openingBook is the visitor book as the screen sees it: empty while the
// store is opening; storageReady has the screen count again.
type openingBook struct {
	*storage.Store
	up <-chan struct{}
}

func (b openingBook) Visitors(day string) ([]storage.Visitor, error) {
	select {
	case <-b.up:
		return b.Store.Visitors(day)
	default:
		return nil, nil
	}
}
