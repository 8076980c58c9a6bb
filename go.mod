module github.com/seed487d475b/proactor

go 1.26.0

require golang.org/x/sys v0.49.0

require go.uber.org/goleak v1.3.0

require github.com/dustin/go-humanize v1.1.0
