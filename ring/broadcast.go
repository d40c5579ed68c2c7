package ring

import "fmt"

// Placeholder until the broadcast engine lands.
func newBcastProducer(r *Ring, outer *Producer) (producerImpl, error) {
	return nil, fmt.Errorf("%w: kind=%v not built yet", ErrInvalid, r.hdr.Kind)
}
