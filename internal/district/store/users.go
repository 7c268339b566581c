package store

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// The roles of a district screen account.
const (
	RoleBureau = "bureau" // the education bureau (教育局): sees everything
	RoleCDC    = "cdc"    // the CDC liaison (疾控联络员): sees the cases and counts
)

// ErrUserExists is AddUser's error for a name already taken.
var ErrUserExists = errors.New("user exists")

// User is an account of the district screen. PasswordHash is a PHC
// string; the password itself is never stored.
type User struct {
	Name, Role, PasswordHash, CreatedAt string
}

// AddUser adds an account; a name already taken is ErrUserExists.
func (s *Store) AddUser(ctx context.Context, u User, now time.Time) error {
	if u.Role != RoleBureau && u.Role != RoleCDC {
		return fmt.Errorf("user %q: role %q: want %s or %s", u.Name, u.Role, RoleBureau, RoleCDC)
	}
	n, err := s.b.pool().exec(ctx, `INSERT INTO users (name, role, password_hash, created_at) VALUES (?, ?, ?, ?)
		ON CONFLICT (name) DO NOTHING`, u.Name, u.Role, u.PasswordHash, now.UTC().Format(TimeFormat))
	if err != nil {
		return fmt.Errorf("%s: adding user %q: %w", s.b.name(), u.Name, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", u.Name, ErrUserExists)
	}
	return nil
}

// UserByName returns the account named name; ok is false when there is none.
func (s *Store) UserByName(ctx context.Context, name string) (u User, ok bool, err error) {
	us, err := queryAll(ctx, s.b.pool(), `SELECT name, role, password_hash, created_at FROM users WHERE name = ?`,
		[]any{name}, func(scan func(...any) error, u *User) error {
			return scan(&u.Name, &u.Role, &u.PasswordHash, &u.CreatedAt)
		})
	if err != nil {
		return User{}, false, fmt.Errorf("%s: reading user %q: %w", s.b.name(), name, err)
	}
	if len(us) == 0 {
		return User{}, false, nil
	}
	return us[0], true, nil
}

// ErrNoUser is the error of SetPassword and RemoveUser for a name no
// account has.
var ErrNoUser = errors.New("no such user")

// SetPassword replaces an account's password hash; an unknown name is
// ErrNoUser.
func (s *Store) SetPassword(ctx context.Context, name, hash string) error {
	n, err := s.b.pool().exec(ctx, `UPDATE users SET password_hash = ? WHERE name = ?`, hash, name)
	if err != nil {
		return fmt.Errorf("%s: setting the password of user %q: %w", s.b.name(), name, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrNoUser)
	}
	return nil
}

// RemoveUser deletes an account; an unknown name is ErrNoUser. The
// screen's sessions of the account end at their next request (the screen
// looks the account up on each).
func (s *Store) RemoveUser(ctx context.Context, name string) error {
	n, err := s.b.pool().exec(ctx, `DELETE FROM users WHERE name = ?`, name)
	if err != nil {
		return fmt.Errorf("%s: removing user %q: %w", s.b.name(), name, err)
	}
	if n == 0 {
		return fmt.Errorf("user %q: %w", name, ErrNoUser)
	}
	return nil
}

// Users returns every account by name, without the password hashes.
func (s *Store) Users(ctx context.Context) ([]User, error) {
	us, err := queryAll(ctx, s.b.pool(), `SELECT name, role, created_at FROM users ORDER BY name`, nil,
		func(scan func(...any) error, u *User) error { return scan(&u.Name, &u.Role, &u.CreatedAt) })
	if err != nil {
		return nil, fmt.Errorf("%s: listing users: %w", s.b.name(), err)
	}
	return us, nil
}
