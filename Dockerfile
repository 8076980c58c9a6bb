# proactor in a container: the command built in a Go image, run from a
# distroless one (no shell, a non-root user).
#   docker build -t proactor .
#   docker run --rm -p 5001:5001 -p 9090:9090 proactor serve echo --listen 0.0.0.0:5001 --metrics 0.0.0.0:9090
# io_uring (--engine uring) is blocked by Docker's default seccomp profile;
# the default engine, epoll, needs nothing special.
FROM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
RUN CGO_ENABLED=0 go build -trimpath -ldflags='-s -w' -o /out/proactor ./cmd/proactor

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /out/proactor /usr/local/bin/proactor
# The control socket goes to the temporary directory (no XDG_RUNTIME_DIR
# here); ctl runs in the container: docker exec NAME proactor ctl stats
ENTRYPOINT ["/usr/local/bin/proactor"]
CMD ["serve", "echo", "--listen", "0.0.0.0:5001"]
EXPOSE 5001
STOPSIGNAL SIGTERM
