package main

import (
	"bufio"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/examples/pop3d"
	"github.com/seed487d475b/proactor/pop3"
)

// pop3Flags are the flags of `proactor serve` that only the pop3 server
// takes.
type pop3Flags struct {
	maildrop string
	users    string
}

func (f *pop3Flags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.maildrop, "maildrop", "", "pop3: the maildrop directory `DIR`, a Maildir per user (required for pop3)")
	fs.StringVar(&f.users, "users", "", "pop3: the users `FILE` (proactor pop3-user writes it; default DIR/"+pop3d.UsersFile+")")
}

// check checks the pop3 flags against the server chosen: pop3 needs
// --maildrop; the others take neither flag.
func (f *pop3Flags) check(server string, fs *flag.FlagSet) error {
	if server == "pop3" {
		if f.maildrop == "" {
			return errors.New("pop3 needs --maildrop DIR, the directory of the users' Maildirs")
		}
		return nil
	}
	var err error
	fs.Visit(func(fl *flag.Flag) {
		if (fl.Name == "maildrop" || fl.Name == "users") && err == nil {
			err = fmt.Errorf("--%s is for the pop3 server, not %s", fl.Name, server)
		}
	})
	return err
}

// pop3Server is the pop3 handler with the store it closes when serve ends.
type pop3Server struct {
	*pop3.Handler
	store *pop3d.Store
}

func (s pop3Server) Close() error { return s.store.Close() }

// newHandler opens the maildrop directory.
func (f *pop3Flags) newHandler() (proactor.Handler, error) {
	users := f.users
	if users == "" {
		users = filepath.Join(f.maildrop, pop3d.UsersFile)
	}
	store, err := pop3d.New(f.maildrop, users)
	if err != nil {
		return nil, err
	}
	return pop3Server{Handler: pop3d.NewHandler(store), store: store}, nil
}

// runPop3User is `proactor pop3-user --users FILE NAME`: it sets NAME's
// password, read from the first line of standard input, in the users file
// of `serve pop3`.
func runPop3User(args []string, stdout, stderr io.Writer) int {
	return pop3User(args, os.Stdin, stdout, stderr)
}

func pop3User(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("proactor pop3-user", flag.ContinueOnError)
	users := fs.String("users", "", "the users `FILE` (serve pop3 reads DIR/"+pop3d.UsersFile+" unless given --users)")
	fs.SetOutput(io.Discard)
	usage := func(w io.Writer) {
		fmt.Fprintf(w, "Usage: proactor pop3-user --users FILE NAME < password\n\n"+
			"Adds the user NAME to the users file of \"proactor serve pop3\", or changes the\n"+
			"password: the first line of standard input, stored as a bcrypt hash.\n\nFlags:\n")
		printFlags(w, fs)
	}
	name, err := parseNamed(fs, args, "user name")
	if errors.Is(err, flag.ErrHelp) {
		usage(stdout)
		return exitOK
	}
	if err == nil && *users == "" {
		err = errors.New("missing --users FILE")
	}
	if err == nil {
		err = pop3d.CheckName(name)
	}
	if err != nil {
		return usageError(stderr, "pop3-user", fs, err)
	}
	pass, err := pop3d.ReadPassword(bufio.NewReader(stdin))
	if err == nil {
		err = pop3d.AddUser(*users, name, pass)
	}
	if err != nil {
		errorf(stderr, "pop3-user: %v", err)
		return exitError
	}
	fmt.Fprintf(stdout, "proactor: user %s set in %s\n", name, *users)
	return exitOK
}
