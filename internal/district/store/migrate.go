package store

import (
	"context"
	"embed"
	"fmt"
	"path"
	"sort"
	"strconv"
	"strings"
	"time"
)

//go:embed migrations/*.sql
var migrationFiles embed.FS

// migration is one numbered file of migrations/: NNNN_name.sql.
type migration struct {
	version int
	name    string
	sql     string
}

// migrations lists the embedded migrations in order; their numbers run
// 1, 2, 3… without a hole, which a test checks.
func migrations() ([]migration, error) {
	entries, err := migrationFiles.ReadDir("migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		num, name, ok := strings.Cut(strings.TrimSuffix(e.Name(), ".sql"), "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("migration %s: want NNNN_name.sql", e.Name())
		}
		b, err := migrationFiles.ReadFile(path.Join("migrations", e.Name()))
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{version: v, name: name, sql: string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	for i, m := range ms {
		if m.version != i+1 {
			return nil, fmt.Errorf("migration %04d_%s: want number %d", m.version, m.name, i+1)
		}
	}
	return ms, nil
}

// migrate applies the migrations the database lacks, each in its own
// transaction, and refuses a database newer than this binary.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := migrations()
	if err != nil {
		return err
	}
	if err := s.inMigrationTx(ctx, func(t tx) error {
		_, err := t.exec(ctx, `CREATE TABLE IF NOT EXISTS schema_migrations (
			version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at TEXT NOT NULL)`)
		return err
	}); err != nil {
		return fmt.Errorf("creating schema_migrations: %w", err)
	}
	for _, m := range ms {
		if err := s.inMigrationTx(ctx, func(t tx) error { return s.apply(ctx, t, m) }); err != nil {
			return fmt.Errorf("migration %04d_%s: %w", m.version, m.name, err)
		}
	}
	var newest int
	err = s.b.pool().query(ctx, `SELECT COALESCE(MAX(version), 0) FROM schema_migrations`, nil,
		func(scan func(...any) error) error { return scan(&newest) })
	if err != nil {
		return err
	}
	if newest > len(ms) {
		return fmt.Errorf("schema version %d is newer than this binary's %d: run a newer gatescreen-district", newest, len(ms))
	}
	return nil
}

func (s *Store) apply(ctx context.Context, t tx, m migration) error {
	var n int
	err := t.query(ctx, `SELECT COUNT(*) FROM schema_migrations WHERE version = ?`, []any{m.version},
		func(scan func(...any) error) error { return scan(&n) })
	if err != nil || n > 0 {
		return err
	}
	sql := m.sql
	for token, typ := range s.b.types() {
		sql = strings.ReplaceAll(sql, "{{"+token+"}}", typ)
	}
	if _, err := t.exec(ctx, sql); err != nil {
		return err
	}
	_, err = t.exec(ctx, `INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)`,
		m.version, m.name, time.Now().UTC().Format(TimeFormat))
	if err == nil {
		s.log.Info().Int("version", m.version).Str("name", m.name).Str("backend", s.b.name()).Msg("migrated")
	}
	return err
}

func (s *Store) inMigrationTx(ctx context.Context, f func(tx) error) error {
	t, err := s.b.begin(ctx)
	if err != nil {
		return err
	}
	defer t.rollback()
	if lock := s.b.migrationLock(); lock != "" {
		if _, err := t.exec(ctx, lock); err != nil {
			return err
		}
	}
	if err := f(t); err != nil {
		return err
	}
	return t.commit(ctx)
}
