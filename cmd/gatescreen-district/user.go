package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/gatescreen/gatescreen/internal/district/store"
	"github.com/gatescreen/gatescreen/internal/district/web"
)

// minPassword is the shortest password user add takes.
const minPassword = 10

// runUser is `gatescreen-district user add`: an account of the district
// screen, its password read from the terminal (twice, not echoed) or, when
// stdin is not a terminal, from stdin's first line.
func runUser(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	return runUserWith(ctx, args, os.Stdin, stdout, stderr)
}

func runUserWith(ctx context.Context, args []string, stdin *os.File, stdout, stderr io.Writer) error {
	if len(args) == 0 || args[0] != "add" {
		fmt.Fprintln(stderr, "usage: gatescreen-district user add -db DSN -name NAME -role bureau|cdc  (the password on stdin)")
		return errUsage
	}
	fs := newFlagSet("user add", "-db sqlite:PATH|postgres://… -name NAME -role bureau|cdc", stderr)
	var db, name, role string
	dbFlag(fs, &db)
	fs.StringVar(&name, "name", "", "the account's name (required)")
	fs.StringVar(&role, "role", "", "bureau (教育局: sees everything) or cdc (疾控联络员: the cases and counts) (required)")
	if err := parse(fs, args[1:]); err != nil {
		return err
	}
	if name == "" || strings.ContainsAny(name, " \t\r\n") {
		return usageError(fs, "-name %q: required, without spaces", name)
	}
	if role != store.RoleBureau && role != store.RoleCDC {
		return usageError(fs, "-role %q: want bureau or cdc", role)
	}
	password, err := readPassword(stdin, stderr)
	if err != nil {
		return err
	}
	if len([]rune(password)) < minPassword {
		return fmt.Errorf("user add: the password must be at least %d characters", minPassword)
	}
	hash, err := web.HashPassword(password)
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

// readPassword reads the password: from a terminal twice without echo,
// else the first line of stdin.
func readPassword(stdin *os.File, prompt io.Writer) (string, error) {
	fd := int(stdin.Fd())
	old, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil { // not a terminal: a pipe or a file
		line, err := bufio.NewReader(stdin).ReadString('\n')
		if err != nil && !(errors.Is(err, io.EOF) && line != "") {
			return "", fmt.Errorf("user add: reading the password from stdin: %w", err)
		}
		return strings.TrimRight(line, "\r\n"), nil
	}
	quiet := *old
	quiet.Lflag &^= unix.ECHO
	quiet.Lflag |= unix.ICANON
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, &quiet); err != nil {
		return "", fmt.Errorf("user add: terminal: %w", err)
	}
	defer func() { _ = unix.IoctlSetTermios(fd, unix.TCSETS, old) }() // the echo back
	in := bufio.NewReader(stdin)
	var got [2]string
	for i, p := range []string{"密码 password: ", "再次输入 again: "} {
		fmt.Fprint(prompt, p)
		line, err := in.ReadString('\n')
		fmt.Fprintln(prompt)
		if err != nil {
			return "", fmt.Errorf("user add: reading the password: %w", err)
		}
		got[i] = strings.TrimRight(line, "\r\n")
	}
	if got[0] != got[1] {
		return "", errors.New("user add: the passwords differ")
	}
	return got[0], nil
}
