package store

import (
	"context"
	"fmt"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"
)

// postgresBackend is a pgx pool. A batch's events go in one INSERT … SELECT
// FROM unnest(arrays): one round trip, whatever the batch size.
type postgresBackend struct {
	pgxPool *pgxpool.Pool
}

func openPostgres(ctx context.Context, dsn string) (backend, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", redact(dsn), err)
	}
	p, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres %s: %w", redact(dsn), err)
	}
	if err := p.Ping(ctx); err != nil {
		p.Close()
		return nil, fmt.Errorf("postgres %s: %w", redact(dsn), err)
	}
	return &postgresBackend{pgxPool: p}, nil
}

func (b *postgresBackend) name() string { return "postgres" }
func (b *postgresBackend) pool() conn   { return pgConn{b.pgxPool} }
func (b *postgresBackend) close()       { b.pgxPool.Close() }

// migrationLock: a transaction-scoped advisory lock, so that ingesters
// started together migrate one after the other (the key is arbitrary and
// fixed: "gatescreen-district" in ASCII, truncated).
func (b *postgresBackend) migrationLock() string {
	return "SELECT pg_advisory_xact_lock(7453298447130)"
}

func (b *postgresBackend) types() map[string]string {
	return map[string]string{"serial": "BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY", "bytes": "BYTEA"}
}

func (b *postgresBackend) begin(ctx context.Context) (tx, error) {
	t, err := b.pgxPool.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return pgTx{pgConn{t}, t}, nil
}

func (b *postgresBackend) insertEvents(ctx context.Context, t tx, rows []eventRow) (map[string]bool, error) {
	n := len(rows)
	var (
		ids, boxes, kinds, districts, schools = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		gates, captured, hashes, bodies, recv = make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
		counted                               = make([]string, n)
		seqs                                  = make([]int64, n)
		synced, drills                        = make([]bool, n), make([]bool, n)
	)
	for i, r := range rows {
		ids[i], boxes[i], seqs[i], kinds[i] = r.ID, r.box, r.Seq, r.Kind
		districts[i], schools[i], gates[i] = r.site.District, r.site.School, r.site.Gate
		captured[i], synced[i], drills[i] = r.CapturedAt, r.ClockSynced, r.Drill
		hashes[i], bodies[i], recv[i], counted[i] = r.hash, string(r.Body), r.receivedAt, r.countedAt
	}
	inserted := map[string]bool{}
	err := t.query(ctx, `INSERT INTO events
		(id, box, seq, kind, district, school, gate, captured_at, clock_synced, drill, hash, body, received_at, counted_at)
		SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[],
			$8::text[], $9::boolean[], $10::boolean[], $11::text[], $12::text[], $13::text[], $14::text[])
		ON CONFLICT (id) DO NOTHING RETURNING id`,
		[]any{ids, boxes, seqs, kinds, districts, schools, gates, captured, synced, drills, hashes, bodies, recv, counted},
		func(scan func(...any) error) error {
			var id string
			if err := scan(&id); err != nil {
				return err
			}
			inserted[id] = true
			return nil
		})
	return inserted, err
}

func (b *postgresBackend) idIn(ids []string) (string, any, error) {
	return "id = ANY(?::text[])", ids, nil
}

func (b *postgresBackend) jsonText(column, key string) string {
	return "(" + column + "::jsonb ->> '" + key + "')"
}

// pgxQuerier is what a pool and a transaction share.
type pgxQuerier interface {
	Exec(ctx context.Context, sql string, args ...any) (pgconn.CommandTag, error)
	Query(ctx context.Context, sql string, args ...any) (pgx.Rows, error)
}

type pgConn struct{ q pgxQuerier }

func (c pgConn) exec(ctx context.Context, query string, args ...any) (int64, error) {
	tag, err := c.q.Exec(ctx, rebindDollar(query), args...)
	return tag.RowsAffected(), err
}

func (c pgConn) query(ctx context.Context, query string, args []any, row func(func(...any) error) error) error {
	rows, err := c.q.Query(ctx, rebindDollar(query), args...)
	return eachRow(rows, err, row)
}

type pgTx struct {
	pgConn
	t pgx.Tx
}

func (t pgTx) commit(ctx context.Context) error { return t.t.Commit(ctx) }

// execBatch pipelines the statements (pgx.Batch): one round trip.
func (t pgTx) execBatch(ctx context.Context, query string, args [][]any) (int, error) {
	b := &pgx.Batch{}
	q := rebindDollar(query)
	for _, a := range args {
		b.Queue(q, a...)
	}
	br := t.t.SendBatch(ctx, b)
	for i := range args {
		if _, err := br.Exec(); err != nil {
			br.Close()
			return i, err
		}
	}
	return -1, br.Close()
}

// rollback after a commit is a no-op; its context must outlive a cancelled
// caller, or the connection would go back to the pool inside a transaction.
func (t pgTx) rollback() { _ = t.t.Rollback(context.Background()) }
