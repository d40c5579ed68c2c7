package natsbridge

import (
	"errors"
	"fmt"
	"net"
	"testing"

	"github.com/nats-io/nats.go"
)

// TestALostConnectionIsToldFromAClosedOne: a publish that met the socket
// the client had just closed to reconnect ("use of closed network
// connection") waits for the reconnect, as one that timed out does; the
// bridge returned it as fatal and stopped (CI, TestOutGoesOnAfterTheServer
// StoppedReading, once). A connection closed for good is not lost: it
// ends the bridge.
func TestALostConnectionIsToldFromAClosedOne(t *testing.T) {
	closedSocket := fmt.Errorf("nats: %w", &net.OpError{Op: "write", Net: "tcp", Err: net.ErrClosed})
	if !lostConnection(closedSocket) {
		t.Errorf("lostConnection(%v) = false, want true: the client reconnects", closedSocket)
	}
	if lostConnection(nats.ErrConnectionClosed) || lostConnection(errors.New("nats: maximum payload exceeded")) {
		t.Error("lostConnection takes a connection closed for good, or a refused message, for a lost one")
	}
}
