package daemon

import "context"

// storageReady waits for the store's check and open, then restores what
// the gate reads from it: the open cases and today's ticket counter, and
// the stored calibrations. An error (a locked file, a newer schema, a disk
// that cannot be read) stops the daemon, as it did before the gate started.
func (g *gate) storageReady(ctx context.Context) error {
	if err := g.store.Wait(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		_ = g.cases.Restore() // whatever waits for the cases goes on, with none
		return err
	}
	if err := g.cases.Restore(); err != nil {
		return err
	}
	if err := g.office.Calibrator().Restore(); err != nil {
		return err
	}
	close(g.storeUp)
	if g.scr != nil {
		for _, c := range g.cases.Open() {
			g.scr.CaseChanged(c)
		}
		g.scr.RecountVisitors()
	}
	g.log.Info().Msg("store open")
	return nil
}
