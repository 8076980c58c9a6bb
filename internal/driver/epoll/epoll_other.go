//go:build !linux

// Package epoll is proactor's Linux engine on epoll(7); elsewhere it reports
// that it is unsupported.
package epoll

import "github.com/seed487d475b/proactor/internal/driver"

// New reports driver.ErrUnsupported: epoll exists on Linux only.
func New() (driver.Driver, error) { return nil, driver.ErrUnsupported }
