package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/gatescreen/gatescreen/internal/localapi"
	"github.com/gatescreen/gatescreen/storage"
)

func init() {
	commands["backup"] = command{"copy the store while the daemon runs: gatescreen backup -o FILE", runBackup}
	commands["restore"] = command{"put a backup back, the daemon stopped: gatescreen restore FILE", runRestore}
}

func runBackup(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("backup", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	out := fs.String("o", "", "the backup file to write (required)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *out == "" || fs.NArg() != 0 {
		return fmt.Errorf("%w: backup needs -o FILE", errUsage)
	}
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	// output writes beside the target and renames when whole and on disk:
	// an interrupted backup never leaves a FILE that looks complete.
	w, done, err := output(*out, nil)
	if err != nil {
		return fmt.Errorf("backup: %w", err)
	}
	err = c.client.Do(ctx, "GET", "/v1/backup", nil, w)
	if errors.Is(err, localapi.ErrNotRunning) {
		err = c.backupOffline(w)
	}
	if err := done(err); err != nil {
		return fmt.Errorf("backup of %s to %s: %w", c.cfg.Storage.Path, *out, err)
	}
	fi, err := os.Stat(*out)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "备份完成 / backed up %s to %s (%d bytes)\n", c.cfg.Storage.Path, *out, fi.Size())
	return nil
}

// backupOffline copies the store with no daemon running.
func (c *companion) backupOffline(w io.Writer) error {
	st, _, err := c.offline()
	if err != nil {
		return err
	}
	defer st.Close()
	_, err = st.Backup(w, nil)
	return err
}

func runRestore(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("restore", stderr)
	path := fs.String("config", defaultConfig, "configuration file of the gate")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if fs.NArg() != 1 {
		return fmt.Errorf("%w: restore takes one backup FILE", errUsage)
	}
	from := fs.Arg(0)
	c, err := loadCompanion(*path)
	if err != nil {
		return err
	}
	if err := c.client.Do(ctx, "GET", "/v1/report", nil, io.Discard); !errors.Is(err, localapi.ErrNotRunning) {
		return fmt.Errorf("守护进程正在运行，请先停止 / the daemon is running: stop it first (systemctl stop gatescreen), then restore")
	}
	aside, err := storage.Restore(c.cfg.Storage.Path, from, storage.Opts{BoxID: c.cfg.Site.BoxID, MaxSize: int64(c.cfg.Storage.MaxSize)})
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "已恢复 / restored %s from %s\n", c.cfg.Storage.Path, filepath.Clean(from))
	if aside != "" {
		fmt.Fprintf(stdout, "原存储保留于 / the replaced store is kept as %s\n", aside)
	}
	fmt.Fprintln(stdout, "events recorded after the backup are in the file kept aside; the district keeps what it received")
	fmt.Fprintln(stdout, "启动守护进程 / start the daemon: systemctl start gatescreen")
	return nil
}
