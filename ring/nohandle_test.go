package ring_test

import (
	"context"
	"errors"
	"os"
	"reflect"
	"testing"

	"github.com/shmring/shmring/ring"
)

// TestEveryMethodOfANilOrZeroHandleSaysErrNoHandle calls every exported
// method of a nil and of a zero-value Ring, Producer, Consumer and Reader,
// found by reflection so that a method added later is covered too: none
// may panic; one that returns an error returns ErrNoHandle (and
// os.ErrInvalid), and the others return zero values.
func TestEveryMethodOfANilOrZeroHandleSaysErrNoHandle(t *testing.T) {
	handles := []any{
		(*ring.Ring)(nil), &ring.Ring{},
		(*ring.Producer)(nil), &ring.Producer{},
		(*ring.Consumer)(nil), &ring.Consumer{},
		(*ring.Reader)(nil), &ring.Reader{},
	}
	ctxType := reflect.TypeFor[context.Context]()
	errType := reflect.TypeFor[error]()
	for _, h := range handles {
		v := reflect.ValueOf(h)
		what := "nil " + v.Type().String()
		if !v.IsNil() {
			what = "zero-value " + v.Type().String()
		}
		if v.NumMethod() == 0 {
			t.Fatalf("%s has no methods", what)
		}
		for i := range v.NumMethod() {
			m, name := v.Method(i), v.Type().Method(i).Name
			args := make([]reflect.Value, m.Type().NumIn())
			for j := range args {
				in := m.Type().In(j)
				if in == ctxType {
					args[j] = reflect.ValueOf(context.Background())
				} else {
					args[j] = reflect.Zero(in)
				}
			}
			t.Run(what+"."+name, func(t *testing.T) {
				defer func() {
					if p := recover(); p != nil {
						t.Fatalf("%s.%s panicked: %v", what, name, p)
					}
				}()
				outs := m.Call(args)
				for k, out := range outs {
					if m.Type().Out(k) == errType {
						err, _ := out.Interface().(error)
						if !errors.Is(err, ring.ErrNoHandle) || !errors.Is(err, os.ErrInvalid) {
							t.Errorf("%s.%s = %v, want ErrNoHandle (and os.ErrInvalid)", what, name, err)
						}
						continue
					}
					if !out.IsZero() {
						t.Errorf("%s.%s returned %v, want its zero value", what, name, out)
					}
				}
			})
		}
	}
}

// TestSendRingOfNoRingSaysErrNoHandle: SendRing checks its ring before its
// connection, as the handles' methods do, and its error is still the
// ErrInvalid it was before ErrNoHandle came.
func TestSendRingOfNoRingSaysErrNoHandle(t *testing.T) {
	for _, r := range []*ring.Ring{nil, {}} {
		if err := ring.SendRing(nil, r); !errors.Is(err, ring.ErrNoHandle) || !errors.Is(err, ring.ErrInvalid) {
			t.Errorf("SendRing(nil, nil or zero *Ring) = %v, want ErrNoHandle and ErrInvalid", err)
		}
	}
}
