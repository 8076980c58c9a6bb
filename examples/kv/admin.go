package kv

import (
	"bytes"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/seed487d475b/proactor"
	"github.com/seed487d475b/proactor/resp"
)

// The commands about the server and the connection, which redis-cli and
// redis-benchmark send before any other: as much of them as those clients
// and the usual client libraries ask for.

// cmdCommand answers COMMAND, COMMAND COUNT, COMMAND LIST, COMMAND INFO and
// COMMAND DOCS, from the table.
func (h *Handler) cmdCommand(out []byte, args [][]byte) []byte {
	if len(args) == 1 {
		out = resp.AppendArray(out, len(h.names))
		for _, name := range h.names {
			out = appendInfo(out, h.commands[name])
		}
		return out
	}
	sub := args[1]
	switch {
	case is(sub, "COUNT") && len(args) == 2:
		return resp.AppendInt(out, int64(len(h.names)))
	case is(sub, "LIST") && len(args) == 2:
		out = resp.AppendArray(out, len(h.names))
		for _, name := range h.names {
			out = resp.AppendBulk(out, name)
		}
		return out
	case is(sub, "INFO"):
		if len(args) == 2 {
			return h.cmdCommand(out, args[:1])
		}
		out = resp.AppendArray(out, len(args)-2)
		for _, name := range args[2:] {
			if cmd := h.lookup(name); cmd != nil {
				out = appendInfo(out, cmd)
			} else {
				out = resp.AppendNullArray(out)
			}
		}
		return out
	case is(sub, "DOCS"):
		// RESP2 has no map: name, then its doc as a flat list of pairs.
		var docs []*command
		for _, name := range h.names {
			if len(args) == 2 || slices.ContainsFunc(args[2:], func(a []byte) bool { return is(a, strings.ToUpper(name)) }) {
				docs = append(docs, h.commands[name])
			}
		}
		out = resp.AppendArray(out, 2*len(docs))
		for _, cmd := range docs {
			out = resp.AppendBulk(out, cmd.name)
			out = resp.AppendArray(out, 6)
			out = resp.AppendBulk(resp.AppendBulk(out, "summary"), cmd.summary)
			out = resp.AppendBulk(resp.AppendBulk(out, "since"), "1.0.0")
			out = resp.AppendBulk(resp.AppendBulk(out, "group"), cmd.group)
		}
		return out
	}
	return unknownSubcommand(out, sub, "COMMAND")
}

// appendInfo appends what COMMAND tells about a command, in Redis 7's
// layout of ten fields (the last four empty here).
func appendInfo(out []byte, cmd *command) []byte {
	out = resp.AppendArray(out, 10)
	out = resp.AppendBulk(out, cmd.name)
	out = resp.AppendInt(out, int64(cmd.arity))
	out = resp.AppendArray(out, len(cmd.flags))
	for _, f := range cmd.flags {
		out = resp.AppendSimple(out, f)
	}
	for _, k := range cmd.keys {
		out = resp.AppendInt(out, int64(k))
	}
	for range 4 { // ACL categories, tips, key specifications, subcommands
		out = resp.AppendArray(out, 0)
	}
	return out
}

func unknownSubcommand(out, sub []byte, cmd string) []byte {
	msg := append([]byte("ERR unknown subcommand '"), clip(sub, 128)...)
	msg = append(msg, "'. Try "+cmd+" HELP."...)
	return resp.AppendError(out, msg)
}

// config is what CONFIG GET reports: the parameters clients look at
// (redis-benchmark asks for save and appendonly), with this server's
// values; nothing is persisted.
var config = [][2]string{
	{"appendonly", "no"},
	{"databases", "1"},
	{"maxclients", "0"},
	{"maxmemory", "0"},
	{"proto-max-bulk-len", "8388608"},
	{"save", ""},
	{"timeout", "0"},
}

func cmdConfig(_ *Handler, _ *proactor.Conn, out []byte, args [][]byte) []byte {
	sub := args[1]
	switch {
	case is(sub, "GET") && len(args) >= 3:
		var match []int
		for i, kv := range config {
			if slices.ContainsFunc(args[2:], func(p []byte) bool {
				ok, _ := path.Match(string(bytes.ToLower(p)), kv[0])
				return ok
			}) {
				match = append(match, i)
			}
		}
		out = resp.AppendArray(out, 2*len(match))
		for _, i := range match {
			out = resp.AppendBulk(resp.AppendBulk(out, config[i][0]), config[i][1])
		}
		return out
	case is(sub, "GET"):
		return wrongArgs(out, "config|get")
	case is(sub, "SET"):
		return resp.AppendError(out, "ERR CONFIG SET is not supported by this server")
	case is(sub, "RESETSTAT") && len(args) == 2:
		return resp.AppendSimple(out, "OK")
	}
	return unknownSubcommand(out, sub, "CONFIG")
}

// clientName is a connection's name (CLIENT SETNAME), kept in its Context.
type clientName string

func cmdClient(_ *Handler, c *proactor.Conn, out []byte, args [][]byte) []byte {
	sub := args[1]
	switch {
	case is(sub, "SETNAME") && len(args) == 3:
		name := args[2]
		if bytes.ContainsFunc(name, func(r rune) bool { return r < '!' || r > '~' }) {
			return resp.AppendError(out, "ERR Client names cannot contain spaces, newlines or special characters.")
		}
		if len(name) == 0 {
			c.SetContext(nil)
		} else {
			c.SetContext(clientName(name))
		}
		return resp.AppendSimple(out, "OK")
	case is(sub, "GETNAME") && len(args) == 2:
		if name, ok := c.Context().(clientName); ok {
			return resp.AppendBulk(out, name)
		}
		return resp.AppendNull(out)
	case is(sub, "ID") && len(args) == 2:
		return resp.AppendInt(out, int64(c.ID()))
	case is(sub, "INFO") && len(args) == 2:
		name, _ := c.Context().(clientName)
		info := "id=" + strconv.FormatUint(c.ID(), 10) + " addr=" + c.RemoteAddrPort().String() +
			" laddr=" + c.LocalAddrPort().String() + " name=" + string(name) + " db=0\n"
		return resp.AppendBulk(out, info)
	case is(sub, "SETINFO") && len(args) == 4:
		// Client libraries announce themselves; nothing uses it here.
		return resp.AppendSimple(out, "OK")
	case is(sub, "SETNAME"), is(sub, "GETNAME"), is(sub, "ID"), is(sub, "INFO"), is(sub, "SETINFO"):
		return wrongArgs(out, "client|"+strings.ToLower(string(sub)))
	}
	return unknownSubcommand(out, sub, "CLIENT")
}
