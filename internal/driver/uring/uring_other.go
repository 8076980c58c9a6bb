//go:build !linux

// Package uring is proactor's Linux engine on io_uring(7); elsewhere it
// reports that it is unsupported.
package uring

import "github.com/seed487d475b/proactor/internal/driver"

// New reports driver.ErrUnsupported: io_uring exists on Linux only.
func New() (driver.Driver, error) { return nil, driver.ErrUnsupported }
