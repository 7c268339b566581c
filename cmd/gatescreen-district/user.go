package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/district/web"
)

// minPassword is the shortest password user add and passwd take.
const minPassword = 10

// userUsage is the user command's synopsis.
const userUsage = `usage: gatescreen-district user add -db DSN -name NAME -role bureau|cdc   (the password on stdin or the terminal)
       gatescreen-district user passwd -db DSN NAME                        (the new password the same way)
       gatescreen-district user list -db DSN
       gatescreen-district user remove -db DSN NAME                        (its sessions end too)`

// runUser is `gatescreen-district user add|passwd|list|remove`: the
// accounts of the district screen. A password is read from the terminal
// (twice, not echoed) or, when stdin is not a terminal, from stdin's first
// line.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runUserWith(ctx, args, os.Stdin, stdout, stderr)
}

func runUserWith(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprintln(stderr, userUsage)
		return errUsage
	}
	switch args[0] {
	case "add":
		return userAdd(ctx, args[1:], stdin, stdout, stderr)
	case "passwd":
		return userPasswd(ctx, args[1:], stdin, stdout, stderr)
	case "list":
		return userList(ctx, args[1:], stdout, stderr)
	case "remove":
		return userRemove(ctx, args[1:], stdout, stderr)
	}
	fmt.Fprintf(stderr, "%s\n\nunknown user command %q\n", userUsage, args[0])
	return errUsage
}

func userAdd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	fs := newFlagSet("user add", "-db sqlite:PATH|postgres://… -name NAME -role bureau|cdc", stderr)
	var db, name, role string
	dbFlag(fs, &db)
	fs.StringVar(&name, "name", "", "the account's name (required)")
	fs.StringVar(&role, "role", "", "bureau (教育局: sees everything) or cdc (疾控联络员: the cases and counts) (required)")
	if err := parse(fs, args); err != nil {
		return err
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return usageError(fs, "-name %q: required, without spaces", name)
	}
	if role != store.RoleBureau && role != store.RoleCDC {
		return usageError(fs, "-role %q: want bureau or cdc", role)
	}
	hash, err := newPasswordHash("user add", stdin, stderr)
	if err != nil {
		return err
	}
	st, err := store.Open(ctx, db, store.Opts{})
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.AddUser(ctx, store.User{Name: name, Role: role, PasswordHash: hash}, time.Now()); err != nil {
		if errors.Is(err, store.ErrUserExists) {
			return fmt.Errorf("user add: %w (pick another name)", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "user %s added, role %s\n", name, role)
	return nil
}

// openForName parses `-db DSN NAME` for the command and opens the store.
func openForName(ctx context.Context, command string, args []string, stderr io.Writer) (*store.Store, string, error) {
	fs := newFlagSet(command, "-db sqlite:PATH|postgres://… NAME", stderr)
	var db string
	dbFlag(fs, &db)
	name, err := parseName(fs, args)
	if err != nil {
		return nil, "", err
	}
	st, err := store.Open(ctx, db, store.Opts{})
	return st, name, err
}

// userPasswd gives an account a new password; its sessions on the screen
// end at their next request.
func userPasswd(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	st, name, err := openForName(ctx, "user passwd", args, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	// Refused before the password is asked for.
	if _, ok, err := st.UserByName(ctx, name); err != nil {
		return err
	} else if !ok {
		return fmt.Errorf("user passwd: user %q: %w (see user list)", name, store.ErrNoUser)
	}
	hash, err := newPasswordHash("user passwd", stdin, stderr)
	if err != nil {
		return err
	}
	if err := st.SetPassword(ctx, name, hash); err != nil {
		return fmt.Errorf("user passwd: %w", err)
	}
	fmt.Fprintf(stdout, "user %s: password changed (its sessions end)\n", name)
	return nil
}

func userList(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("user list", "-db sqlite:PATH|postgres://…", stderr)
	var db string
	dbFlag(fs, &db)
	if err := parse(fs, args); err != nil {
		return err
	}
	st, err := store.Open(ctx, db, store.Opts{})
	if err != nil {
		return err
	}
	defer st.Close()
	us, err := st.Users(ctx)
	if err != nil {
		return err
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintln(w, "NAME\tROLE\tCREATED")
	for _, u := range us {
		fmt.Fprintf(w, "%s\t%s\t%s\n", u.Name, u.Role, u.CreatedAt)
	}
	return w.Flush()
}

// userRemove deletes an account; its sessions end at their next request.
func userRemove(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	st, name, err := openForName(ctx, "user remove", args, stderr)
	if err != nil {
		return err
	}
	defer st.Close()
	if err := st.RemoveUser(ctx, name); err != nil {
		if errors.Is(err, store.ErrNoUser) {
			return fmt.Errorf("user remove: %w (see user list)", err)
		}
		return err
	}
	fmt.Fprintf(stdout, "user %s removed (its sessions end)\n", name)
	return nil
}

// parseName parses fs's flags around one account name, before or after
// them.
func parseName(fs *flag.FlagSet, args []string) (string, error) {
	var name string
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		name, args = args[0], args[1:]
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return "", err
		}
		return "", errUsage
	}
	rest := fs.Args()
	if name == "" && len(rest) > 0 {
		name, rest = rest[0], rest[1:]
	}
	if name == "" {
		return "", usageError(fs, "the account's name is required")
	}
	if len(rest) > 0 {
		return "", usageError(fs, "unexpected argument %q", rest[0])
	}
	return name, nil
}

// newPasswordHash reads a new password (readPassword) and hashes it.
func newPasswordHash(cmd string, stdin *os.File, stderr io.Writer) (string, error) {
	password, err := readPassword(cmd, stdin, stderr)
	if err != nil {
		return "", err
	}
	if len([]rune(password)) < minPassword {
		return "", fmt.Errorf("%s: the password must be at least %d characters", cmd, minPassword)
	}
	return web.HashPassword(password)
}

// readPassword reads the password: from a terminal twice without echo,
// else the first line of stdin.
func readPassword(cmd string, stdin *os.File, prompt io.Writer) (string, error) {
	fd := int(stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil { // not a terminal: a pipe or a file
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("%s: reading the password from stdin: %w", cmd, err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("%s: terminal: %w", cmd, err)
	}
	defer func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }() // the echo back
	in := bufio.NewReader(stdin)
	var got [2]string
	for i, p := range []string{"密码 password: ", "再次输入 again: "} {
		fmt.Fprint(prompt, p)
		line, err := in.ReadString('\n')
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("%s: reading the password: %w", cmd, err)
		}
		got[i] = strings.TrimRight(line, "\r\n")
	}
	if got[0] != got[1] {
		return "", fmt.Errorf("%s: the passwords differ", cmd)
	}
	return got[0], nil
}
