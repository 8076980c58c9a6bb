package main

import (
	"crypto/tls"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/seed487d475b/proactor/internal/selfcert"
)

// tlsFlags are serve's TLS flags: a certificate and key from files, or a
// throwaway self-signed certificate for trying TLS out.
type tlsFlags struct {
	cert, key  string
	selfSigned bool
}

func (f *tlsFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&f.cert, "tls-cert", "", "serve TLS with the PEM certificate (chain) in `FILE`; needs --tls-key")
	fs.StringVar(&f.key, "tls-key", "", "the PEM private key of --tls-cert, in `FILE`")
	fs.BoolVar(&f.selfSigned, "tls-self-signed", false, "serve TLS with a throwaway self-signed certificate for localhost, 127.0.0.1 and ::1 (prints its fingerprint; for trying out only)")
}

func (f *tlsFlags) check() error {
	switch {
	case (f.cert == "") != (f.key == ""):
		return errors.New("--tls-cert and --tls-key go together")
	case f.selfSigned && f.cert != "":
		return errors.New("--tls-self-signed and --tls-cert exclude each other")
	}
	return nil
}

// config returns the server's TLS configuration, nil without TLS. A
// self-signed certificate's fingerprint goes to out, so a client can pin it.
func (f *tlsFlags) config(out io.Writer) (*tls.Config, error) {
	var cert tls.Certificate
	switch {
	case f.cert != "":
		var err error
		if cert, err = tls.LoadX509KeyPair(f.cert, f.key); err != nil {
			return nil, fmt.Errorf("TLS certificate: %w", err)
		}
	case f.selfSigned:
		c, leaf, err := selfcert.New(30 * 24 * time.Hour)
		if err != nil {
			return nil, fmt.Errorf("self-signed certificate: %w", err)
		}
		cert = c
		fmt.Fprintf(out, "proactor: TLS with a self-signed certificate, SHA-256 fingerprint %s\n", selfcert.Fingerprint(leaf))
	default:
		return nil, nil
	}
	return &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}, nil
}
