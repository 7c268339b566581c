package daemon

import (
	"net/http"
	"strconv"
)

// apiBackup streams a consistent copy of the live store (`gatescreen
// backup`). Its Content-Length is the copy's size, so a client cut off
// midway sees a short body, never a file that looks whole.
func (g *gate) apiBackup(w http.ResponseWriter, _ *http.Request) {
	started := false
	n, err := g.store.Backup(w, func(size int64) {
		started = true
		w.Header().Set("Content-Type", "application/octet-stream")
		w.Header().Set("Content-Length", strconv.FormatInt(size, 10))
	})
	if err != nil {
		g.log.Error().Err(err).Int64("bytes", n).Msg("backup failed")
		if !started {
			apiError(w, http.StatusInternalServerError, err)
		}
		return
	}
	g.log.Info().Int64("bytes", n).Msg("backup taken")
}
