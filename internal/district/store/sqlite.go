package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"path/filepath"

	_ "modernc.org/sqlite" // registers the pure-Go driver "sqlite"
)

// sqliteBackend is one SQLite file in WAL mode. Writes take the file's
// write lock at BEGIN (BEGIN IMMEDIATE), so two writers queue on the busy
// timeout instead of failing mid-transaction; every commit is synced
// (synchronous=FULL): a commit is what lets the ingester acknowledge.
type sqliteBackend struct {
	path string
	db   *sql.DB
}

func openSQLite(ctx context.Context, path string) (backend, error) {
	if path == "" {
		return nil, fmt.Errorf("sqlite: empty path (want sqlite:PATH)")
	}
	if dir := filepath.Dir(path); dir != "" {
		if _, err := os.Stat(dir); err != nil {
			return nil, fmt.Errorf("sqlite %s: %w", path, err)
		}
	}
	q := url.Values{}
	for _, p := range []string{"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(FULL)", "foreign_keys(1)"} {
		q.Add("_pragma", p)
	}
	q.Set("_txlock", "immediate")
	db, err := sql.Open("sqlite", "file:"+path+"?"+q.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	if err := db.PingContext(ctx); err != nil {
		db.Close()
		return nil, fmt.Errorf("sqlite %s: %w", path, err)
	}
	return &sqliteBackend{path: path, db: db}, nil
}

func (b *sqliteBackend) name() string          { return "sqlite" }
func (b *sqliteBackend) pool() conn            { return sqlConn{b.db} }
func (b *sqliteBackend) migrationLock() string { return "" }
func (b *sqliteBackend) close()                { b.db.Close() }
func (b *sqliteBackend) types() map[string]string {
	return map[string]string{"serial": "INTEGER PRIMARY KEY AUTOINCREMENT", "bytes": "BLOB"}
}

func (b *sqliteBackend) begin(ctx context.Context) (tx, error) {
	t, err := b.db.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	return sqlTx{sqlConn{t}, t}, nil
}

// insertEvents runs one prepared statement per event: SQLite runs in the
// process, so a statement costs no round trip.
func (b *sqliteBackend) insertEvents(ctx context.Context, t tx, rows []eventRow) (map[string]bool, error) {
	st, err := t.(sqlTx).t.PrepareContext(ctx, `INSERT INTO events
		(id, box, seq, kind, district, school, gate, captured_at, clock_synced, drill, hash, body, received_at, counted_at)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO NOTHING`)
	if err != nil {
		return nil, err
	}
	defer st.Close()
	inserted := map[string]bool{}
	for _, r := range rows {
		res, err := st.ExecContext(ctx, r.ID, r.box, r.Seq, r.Kind, r.site.District, r.site.School, r.site.Gate,
			r.CapturedAt, r.ClockSynced, r.Drill, r.hash, string(r.Body), r.receivedAt, r.countedAt)
		if err != nil {
			return nil, fmt.Errorf("event %s: %w", r.ID, err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			inserted[r.ID] = true
		}
	}
	return inserted, nil
}

// idIn passes the ids as one JSON array: one parameter, however many.
func (b *sqliteBackend) idIn(ids []string) (string, any, error) {
	list, err := json.Marshal(ids)
	return "id IN (SELECT value FROM json_each(?))", string(list), err
}

func (b *sqliteBackend) jsonText(column, key string) string {
	return "json_extract(" + column + ", '$." + key + "')"
}

// sqlQuerier is what *sql.DB and *sql.Tx share.
type sqlQuerier interface {
	ExecContext(ctx context.Context, query string, args ...any) (sql.Result, error)
	QueryContext(ctx context.Context, query string, args ...any) (*sql.Rows, error)
}

type sqlConn struct{ q sqlQuerier }

func (c sqlConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	res, err := c.q.ExecContext(ctx, query, args...)
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}

func (c sqlConn) query(ctx context.Context, query string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.QueryContext(ctx, query, args...)
	return eachRow(sqlRows{rows}, err, row)
}

// sqlRows gives *sql.Rows pgx's Close: a read error is Err's, and closing
// a result read to its end has none worth acting on.
type sqlRows struct{ *sql.Rows }

func (r sqlRows) Close() { _ = r.Rows.Close() }

type sqlTx struct {
	sqlConn
	t *sql.Tx
}

func (t sqlTx) commit(context.Context) error { return t.t.Commit() }
func (t sqlTx) rollback()                    { _ = t.t.Rollback() }
