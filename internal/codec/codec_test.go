package codec

import (
	"bytes"
	"encoding/hex"
	"errors"
	"testing"
)

func TestVerifyAcceptsOnlyTheExpectedMessage(t *testing.T) {
	want := Header{Seq: 1234, Producer: 3}
	for size := MinSize; size <= 80; size++ {
		msg := make([]byte, size)
		Put(msg, want)
		if err := Verify(msg, want); err != nil {
			t.Fatalf("size=%d: fresh message rejected: %v", size, err)
		}
		next := want
		next.Seq++
		if err := Verify(msg, next); !errors.Is(err, ErrIntegrity) {
			t.Fatalf("size=%d: message 1234 accepted as 1235 (err=%v)", size, err)
		}
		other := want
		other.Producer++
		if err := Verify(msg, other); size > MinSize && !errors.Is(err, ErrIntegrity) { // 8 bytes hold only seq
			t.Fatalf("size=%d: producer 3's message accepted as producer 4's (err=%v)", size, err)
		}
		for i := range msg {
			msg[i] ^= 1
			if err := Verify(msg, want); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("size=%d: flipped bit in byte %d not detected", size, i)
			}
			msg[i] ^= 1
		}
	}
}

func TestCheckCatchesEveryFlippedByteOfASealedMessage(t *testing.T) {
	for size := HeaderSize; size <= 80; size++ {
		msg := make([]byte, size)
		Put(msg, Header{Seq: 1234, Producer: 3, SentNs: 99})
		Seal(msg)
		h, err := Check(msg)
		if err != nil || h != (Header{Seq: 1234, Producer: 3, SentNs: 99}) {
			t.Fatalf("size=%d: got %+v, %v; want producer 3, seq 1234, sent 99", size, h, err)
		}
		for i := range msg {
			msg[i] ^= 1
			if _, err := Check(msg); !errors.Is(err, ErrIntegrity) {
				t.Fatalf("size=%d: flipped bit in byte %d not detected", size, i)
			}
			msg[i] ^= 1
		}
	}
}

func TestAShortMessageCannotBeChecked(t *testing.T) {
	if _, err := Check(make([]byte, HeaderSize-1)); !errors.Is(err, ErrIntegrity) {
		t.Fatalf("Check of a %d-byte message: %v, want an error wrapping ErrIntegrity", HeaderSize-1, err)
	}
}

func TestMessagesDifferInEveryPayloadWord(t *testing.T) {
	for _, pair := range [][2]Header{{{Seq: 7}, {Seq: 8}}, {{Seq: 7, Producer: 1}, {Seq: 7, Producer: 2}}} {
		a, b := make([]byte, 64), make([]byte, 64)
		Put(a, pair[0])
		Put(b, pair[1])
		for off := HeaderSize; off < 64; off += 8 {
			if bytes.Equal(a[off:off+8], b[off:off+8]) {
				t.Errorf("%+v and %+v share the word at offset %d", pair[0], pair[1], off)
			}
		}
	}
}

// TestTheFormatIsFixed pins the bytes of one sealed message: a change to
// the layout, the pattern or the checksum must be made on purpose, since
// processes built from different versions exchange these messages.
func TestTheFormatIsFixed(t *testing.T) {
	msg := make([]byte, 32)
	Put(msg, Header{Seq: 1, Producer: 2, SentNs: 3})
	Seal(msg)
	const want = "0100000000000000" + "02000000" + "8f6180c6" + "0300000000000000" + "73aecf73d2b212ca"
	if got := hex.EncodeToString(msg); got != want {
		t.Errorf("encoded message\n got %s\nwant %s", got, want)
	}
}

func TestDigestTellsALossHiddenByADuplicate(t *testing.T) {
	if Digest(0)+Digest(2)+Digest(0) == Digest(0)+Digest(1)+Digest(2) {
		t.Error("messages 0, 2, 0 digest like 0, 1, 2")
	}
}
