package store

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/rs/zerolog"
)

// conn runs statements on a backend: on its pool for reads, inside a
// transaction for writes. Queries are written with ? placeholders; the
// backend rebinds them.
type conn interface {
	exec(ctx context.Context, query string, args ...any) (affected int64, err error)
	query(ctx context.Context, query string, args []any, row func(scan func(dest ...any) error) error) error
}

// tx is an open write transaction.
type tx interface {
	conn
	commit(ctx context.Context) error
	rollback()
}

// backend is what SQLite and PostgreSQL do differently.
type backend interface {
	name() string
	pool() conn
	begin(ctx context.Context) (tx, error)
	// insertEvents inserts the events whose id is new and returns those ids.
	insertEvents(ctx context.Context, t tx, events []eventRow) (map[string]bool, error)
	// idIn is a condition on events.id matching any of ids, with its one
	// argument.
	idIn(ids []string) (cond string, arg any, err error)
	// jsonText is an SQL expression for the text of a JSON column's
	// top-level key (key is a constant of this package, never input).
	jsonText(column, key string) string
	// migrationLock serialises migrations between processes ("" if begin does).
	migrationLock() string
	// types fills a migration's {{serial}} and {{bytes}}.
	types() map[string]string
	close()
}

// Store is the district's database. It is safe for concurrent use, and
// several ingesters may share one PostgreSQL database.
type Store struct {
	b                backend
	log              zerolog.Logger
	skew, maxBacklog time.Duration

	mu    sync.Mutex
	bound map[string]Site // box → its prefix, once committed
}

// Opts configures Open.
type Opts struct {
	// Log receives migrations and backend notices; zero is no logging.
	Log zerolog.Logger
	// ClockSkew is how far AHEAD of its arrival an event's captured_at may
	// be before the box's clock is taken to be wrong (nothing is uploaded
	// before it is captured), MaxBacklog how far BEHIND (a box keeps what
	// it could not upload and sends it late). Such an event counts at its
	// arrival and raises a box_clock alert, and such a daily report is
	// quarantined. Zero is DefaultClockSkew, DefaultMaxBacklog.
	ClockSkew  time.Duration
	MaxBacklog time.Duration
}

// DefaultClockSkew is an hour: a box that is not synchronised drifts by
// seconds a day, and a clock ahead by more is wrong, not early.
const DefaultClockSkew = time.Hour

// DefaultMaxBacklog is 90 days: longer than a box's full store holds at a
// school's rate (a real backlog, however late, counts on its own day), far
// shorter than a clock a year behind.
const DefaultMaxBacklog = 90 * 24 * time.Hour

// Open opens the database named by dsn and migrates it to the schema this
// binary knows: "sqlite:PATH" (the file is created) or a PostgreSQL URL
// "postgres://…" / "postgresql://…".
func Open(ctx context.Context, dsn string, opts Opts) (*Store, error) {
	var (
		b   backend
		err error
	)
	switch {
	case strings.HasPrefix(dsn, "sqlite:"):
		b, err = openSQLite(ctx, strings.TrimPrefix(dsn, "sqlite:"))
	case strings.HasPrefix(dsn, "postgres://"), strings.HasPrefix(dsn, "postgresql://"):
		b, err = openPostgres(ctx, dsn)
	default:
		return nil, fmt.Errorf("database %q: want sqlite:PATH or postgres://…", redact(dsn))
	}
	if err != nil {
		return nil, err
	}
	if opts.ClockSkew <= 0 {
		opts.ClockSkew = DefaultClockSkew
	}
	if opts.MaxBacklog <= 0 {
		opts.MaxBacklog = DefaultMaxBacklog
	}
	s := &Store{b: b, log: opts.Log, skew: opts.ClockSkew, maxBacklog: opts.MaxBacklog, bound: map[string]Site{}}
	if err := s.migrate(ctx); err != nil {
		b.close()
		return nil, fmt.Errorf("%s database: %w", b.name(), err)
	}
	return s, nil
}

// Backend names the backend: "sqlite" or "postgres".
func (s *Store) Backend() string { return s.b.name() }

// Close closes the database.
func (s *Store) Close() error {
	s.b.close()
	return nil
}

// rows is what database/sql's and pgx's results share.
type rows interface {
	Next() bool
	Scan(dest ...any) error
	Err() error
	Close()
}

// eachRow hands every row of a query's result to row, then closes it.
func eachRow(r rows, err error, row func(scan func(...any) error) error) error {
	if err != nil {
		return err
	}
	defer r.Close()
	for r.Next() {
		if err := row(r.Scan); err != nil {
			return err
		}
	}
	return r.Err()
}

// queryAll collects the rows of a query, scan filling one value per row.
func queryAll[T any](ctx context.Context, c conn, query string, args []any, scan func(scan func(...any) error, v *T) error) ([]T, error) {
	var out []T
	err := c.query(ctx, query, args, func(s func(...any) error) error {
		var v T
		if err := scan(s, &v); err != nil {
			return err
		}
		out = append(out, v)
		return nil
	})
	return out, err
}

// redact hides a password in a database URL for error messages.
func redact(dsn string) string {
	scheme, rest, ok := strings.Cut(dsn, "://")
	if !ok {
		return dsn
	}
	userinfo, host, ok := strings.Cut(rest, "@")
	if !ok {
		return dsn
	}
	if user, _, hasPass := strings.Cut(userinfo, ":"); hasPass {
		return scheme + "://" + user + ":xxxxx@" + host
	}
	return dsn
}

// rebindDollar turns ? placeholders into PostgreSQL's $1, $2, …; the
// queries of this package hold no ? inside literals.
func rebindDollar(q string) string {
	var b strings.Builder
	n := 0
	for _, r := range q {
		if r == '?' {
			n++
			fmt.Fprintf(&b, "$%d", n)
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}
