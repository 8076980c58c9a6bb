package control

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/seed487d475b/proactor"
)

// ConnAction is the answer to closing or aborting a connection.
type ConnAction struct {
	ID     uint64 `json:"id"`
	Action string `json:"action"` // "close" or "abort"
}

// ErrNoConn is returned by a Client for a connection ID that names no open
// connection: it never existed, or it has closed.
var ErrNoConn = errors.New("control: no open connection with that ID")

// ErrClosing is returned by a Client asked to close a connection that is
// closing already (or to abort one already aborted).
var ErrClosing = errors.New("control: the connection is closing already")

// connAction closes or aborts (action) the connection idText names; it
// returns the HTTP status and the body to answer.
func connAction(srv *proactor.Server, idText, action string) (int, any) {
	id, err := strconv.ParseUint(idText, 10, 64)
	if err != nil {
		return http.StatusBadRequest, errorBody{Error: fmt.Sprintf("bad connection ID %q: want a number as `ctl conns` lists them", idText)}
	}
	c, ok := srv.Conn(id)
	if !ok {
		return http.StatusNotFound, errorBody{Error: fmt.Sprintf("no open connection %d", id)}
	}
	defer c.Release()
	if action == "close" {
		err = c.Close()
	} else {
		err = c.Abort()
	}
	if err != nil {
		return http.StatusConflict, errorBody{Error: fmt.Sprintf("connection %d is closing already", id)}
	}
	return http.StatusOK, ConnAction{ID: id, Action: action}
}
